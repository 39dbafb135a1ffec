"""Modal screens: help, a one-line text question, the history browser."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Markdown, OptionList
from textual.widgets.option_list import Option

from .history import HistoryStore

HELP_INTRO = """\
# s1 console — keys

Ask a question in the prompt box (Enter). The **thinking** streams in the upper pane
(dim), the **answer** below it. Every intervention is marked inline in the trace
with who made it: `⟪Wait · user⟫`, `⟪end of thinking · budget · 512 tokens⟫`,
`⟪inject · user: …⟫`, `⟪budget → 2048 · user⟫`.

Keys act on every running column and are greyed out in the footer when they do not
apply (e.g. *Wait* and *End* only while the model thinks).
"""

HELP_OUTRO = """
The view follows the stream until you scroll up; press **f** to follow again.
`ctrl+p` opens the command palette with every action. History is kept as JSONL in
the data dir (`$S1_DATA_DIR`); from the history screen: Enter reopens, **r** replays,
**m** / **j** export Markdown / JSONL.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, keys: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        rows = ["| key | action | what it does |", "| --- | --- | --- |"]
        rows += [f"| `{k}` | {name} | {what} |" for k, name, what in self._keys]
        text = HELP_INTRO + "\n" + "\n".join(rows) + "\n" + HELP_OUTRO
        with VerticalScroll():
            yield Markdown(text)

    async def action_dismiss(self, result: Any = None) -> None:
        self.dismiss(None)


class AskText(ModalScreen[str | None]):
    """One line of text from the user (inject, ignore string, model path)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    AskText { align: center middle; }
    AskText > Vertical {
        width: 70; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    AskText Label { margin-bottom: 1; }
    """

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title)
            yield Input(self._value, placeholder=self._placeholder, id="ask")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HistoryScreen(ModalScreen[tuple[str, dict] | None]):
    """Past runs, newest first: reopen, replay, export."""

    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("enter,o", "pick('open')", "Reopen"),
        Binding("r", "pick('replay')", "Replay"),
        Binding("m", "export('md')", "Export .md"),
        Binding("j", "export('jsonl')", "Export .jsonl"),
    ]
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Vertical {
        width: 100; height: 80%; border: thick $accent; background: $surface; padding: 0 1;
    }
    HistoryScreen OptionList { height: 1fr; }
    """

    def __init__(self, store: HistoryStore) -> None:
        super().__init__()
        self.store = store
        self.records = list(reversed(store.records()))

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"History: {len(self.records)} runs in {self.store.path}  "
                "(Enter reopen · r replay · m/j export)"
            )
            options = [
                Option(
                    Content(
                        f"{r.get('created', '')}  {_short(r.get('prompt', ''), 48)}  "
                        f"[{r.get('policy', '')}] {r.get('thinking_tokens', 0)}+"
                        f"{r.get('answer_tokens', 0)} tok, {r.get('finish_reason', '')}"
                    ),
                    id=r["id"],
                )
                for r in self.records
            ]
            yield OptionList(*options, id="runs")

    def _current(self) -> dict | None:
        ol = self.query_one(OptionList)
        if ol.highlighted is None or not self.records:
            return None
        return self.records[ol.highlighted]

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_pick("open")

    def action_pick(self, what: str) -> None:
        r = self._current()
        if r is not None:
            self.dismiss((what, r))

    def action_export(self, kind: str) -> None:
        r = self._current()
        if r is None:
            return
        path = self.store.export(r, kind)
        self.notify(f"exported to {path}", title="export")

    def action_close(self) -> None:
        self.dismiss(None)


def _short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
