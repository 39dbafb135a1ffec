"""What a request's stream items add up to: phase, budget, token counts, texts, counters.

One reducer for every reader of a stream (the server's chunks, the remote session, the
console's trace), so the phase and the text are rebuilt from events in one place:
`state.feed(item)` for each item in order. A thinking reopened after an answer
(`think_start` with text "reopened") drops the answer so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import events as ev
from .events import Event, StreamItem, TokenDelta
from .steps import Phase


def budget_value(text: str) -> int | str:
    """A budget as a `budget_changed` event writes it: a number, or a word ("auto")."""
    try:
        return int(text)
    except ValueError:
        return text


@dataclass
class StreamState:
    """The running sum of a request's stream items."""

    budget: int | str = "auto"
    phase: Phase = "pre"
    thinking_tokens: int = 0
    answer_tokens: int = 0
    output_tokens: int = 0  # every token of the request's output (text before thinking too)
    finish_reason: str = ""
    error: str = ""
    waits: dict[str, int] = field(default_factory=dict)  # cause -> count
    ends: dict[str, int] = field(default_factory=dict)
    injects: int = 0
    texts: dict[str, list[str]] = field(
        default_factory=lambda: {"pre": [], "think": [], "answer": []}
    )
    events: list[Event] = field(default_factory=list)
    items: int = 0

    def feed(self, item: StreamItem) -> None:
        self.items += 1
        if isinstance(item, TokenDelta):
            self.thinking_tokens, self.answer_tokens = item.thinking_tokens, item.answer_tokens
            self.output_tokens += len(item.token_ids)
            if item.segment in self.texts:
                self.texts[item.segment].append(item.text)
            if item.segment == "think" and self.phase == "pre":
                self.phase = "think"
            elif item.segment == "answer" and self.phase != "done":
                self.phase = "answer"
            return
        self.events.append(item)
        kind, cause = item.kind, item.cause
        if kind == ev.THINK_START:
            if item.text == "reopened":
                self.texts["answer"].clear()
                self.finish_reason = ""
            self.phase = "think"
        elif kind == ev.WAIT:
            self.waits[cause] = self.waits.get(cause, 0) + 1
        elif kind == ev.INJECT:
            self.injects += 1
        elif kind == ev.END_THINKING:
            self.ends[cause] = self.ends.get(cause, 0) + 1
            self.phase = "answer"
        elif kind == ev.BUDGET_CHANGED:
            self.budget = budget_value(item.text)
        elif kind == ev.FINISH:
            self.finish_reason, self.phase = item.text, "done"
        elif kind == ev.ERROR:
            self.error = item.text

    # ----- reading -------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.phase == "done"

    @property
    def n_waits(self) -> int:
        return sum(self.waits.values())

    @property
    def n_ends(self) -> int:
        return sum(self.ends.values())

    @property
    def budget_left(self) -> int:
        b = self.budget
        return max(0, b - self.thinking_tokens) if isinstance(b, int) else 0

    def text(self, *segments: str) -> str:
        return "".join(t for s in segments for t in self.texts.get(s, ()))
