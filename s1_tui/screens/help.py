"""The keys, what each does, and where things are kept."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP_INTRO = """\
# s1 console — keys

Ask a question in the prompt box (Enter): the focus moves to the thinking, so the letter
keys below steer it (Esc also leaves the box; **n** goes back to it). The **thinking**
streams in the upper pane (dim), the **answer** below it. Every intervention is marked inline in the trace
with who made it: `⟪Wait · user⟫`, `⟪end of thinking · budget · 512 tokens⟫`,
`⟪inject · user: …⟫`, `⟪budget → 2048 · user⟫`.

Keys act on every running column and are greyed out in the footer when they do not
apply (e.g. *Wait* and *End* only while the model thinks; a narrow footer leaves them
out); pressed anyway, they say why. While nothing thinks, the budget keys set the next
question's budget. A model too fast to steer by hand can be slowed down: **p** (or
`--pace 10`) holds it to a pace of tokens a second.
"""

HELP_OUTRO = """
The view follows the stream until you scroll up; press **f** to follow again.
`ctrl+p` opens the command palette with every action. History is kept as JSONL in
the data dir (`$S1_DATA_DIR`); from the history screen: Enter reopens, **r** replays,
**m** / **j** export Markdown / JSONL.
"""

KEY_NAMES = {"plus": "+", "minus": "-", "W": "shift+w"}


def key_rows(bindings: Iterable[Binding]) -> list[tuple[str, str, str]]:
    """(key as typed, footer label, what it does) of every binding that says what it does."""
    return [(KEY_NAMES.get(b.key, b.key), b.description, b.tooltip) for b in bindings if b.tooltip]


def cell(text: str) -> str:
    """Text for a Markdown table cell: a "|" inside it (as in "Wait|Hmm") would end it."""
    return text.replace("|", "\\|")


def help_markdown(keys: list[tuple[str, str, str]]) -> str:
    """The help text: the intro, a table of the keys, the outro."""
    rows = ["| key | action | what it does |", "| --- | --- | --- |"]
    rows += [f"| `{k}` | {cell(name)} | {cell(what)} |" for k, name, what in keys]
    return HELP_INTRO + "\n" + "\n".join(rows) + "\n" + HELP_OUTRO


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, keys: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(help_markdown(self._keys))

    async def action_dismiss(self, result: Any = None) -> None:
        self.dismiss(None)
