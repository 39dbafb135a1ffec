"""The history browser: past runs, newest first; reopen, replay, export."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ..history import HistoryStore


class HistoryScreen(ModalScreen[tuple[str, dict] | None]):
    """Past runs, newest first: reopen, replay, export."""

    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("enter,o", "pick('open')", "Reopen"),
        Binding("r", "pick('replay')", "Replay"),
        Binding("m", "export('md')", "Export .md"),
        Binding("j", "export('jsonl')", "Export .jsonl"),
    ]
    CSS_PATH = "history.tcss"

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
