"""What a client sees of a request, from its stream items: the thinking and the answer
(each without leading whitespace; a reopened thinking drops the answer so far), the
forcing events numbered in order, and the answer cut at the first stop string.

A stop string may straddle two items: the answer's tail that could still begin one is
held back until the next item tells. Once a stop string is found, nothing more of the
answer is shown and `stopped_by` names it (the caller then stops the request).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from s1_engine import events as ev
from s1_engine.events import Event, StreamItem
from s1_engine.reducer import StreamState

from .responses import S1Event

# What a client reads as the answer: the text after the thinking, and text a model wrote
# before it opened any thinking (the only answer a model that never thinks gives). The
# engine's `Result.answer` is the "answer" segment alone: what graders read.
ANSWER_SEGMENTS = ("pre", "answer")


def first_stop(text: str, stops: tuple[str, ...]) -> tuple[int, str] | None:
    """(where, which) of the earliest stop string in `text`, or None."""
    hits = [(i, s) for s in stops if (i := text.find(s)) >= 0]
    return min(hits) if hits else None


def held_tail(text: str, stops: tuple[str, ...]) -> int:
    """How many characters at the end of `text` could begin a stop string."""
    best = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), best, -1):
            if text.endswith(s[:n]):
                best = n
                break
    return best


def event_model(e: Event, index: int) -> S1Event:
    return S1Event(
        index=index,
        kind=e.kind,
        cause=e.cause,
        token_index=e.token_index,
        text=e.text,
        thinking_tokens=e.thinking_tokens,
    )


@dataclass
class Piece:
    """What one stream item adds for the client."""

    reasoning: str = ""
    content: str = ""
    event: S1Event | None = None
    reopened: bool = False  # the answer so far is dropped (a Wait after the answer)


@dataclass
class Visible:
    """The client's view of one request: the engine's one reducer (`StreamState`: counts,
    events, a reopened thinking) and, on top, what only a client needs: texts without
    leading whitespace, the answer cut at a stop string."""

    stops: tuple[str, ...] = ()
    state: StreamState = field(default_factory=StreamState)
    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    stopped_by: str | None = None
    _started: dict[str, bool] = field(default_factory=lambda: {"think": False, "answer": False})
    _held: str = ""  # answer text that may begin a stop string

    @property
    def completion_tokens(self) -> int:
        return self.state.output_tokens

    @property
    def thinking_tokens(self) -> int:
        return self.state.thinking_tokens

    def take(self, item: StreamItem) -> Piece:
        index = len(self.state.events)
        self.state.feed(item)
        if isinstance(item, Event):
            piece = Piece(event=event_model(item, index))
            if item.kind == ev.THINK_START and item.text == "reopened":
                self.content.clear()
                self._held = ""
                self._started["answer"] = False
                self.stopped_by = None
                piece.reopened = True
            return piece
        if item.segment == "think":
            text = self._lstrip("think", item.text)
            self.reasoning.append(text)
            return Piece(reasoning=text)
        if item.segment not in ANSWER_SEGMENTS or self.stopped_by is not None:
            return Piece()
        text = self._lstrip("answer", item.text)
        if not self.stops:
            self.content.append(text)
            return Piece(content=text)
        text = self._held + text
        hit = first_stop(text, self.stops)
        if hit is not None:
            self.stopped_by = hit[1]
            self._held = ""
            text = text[: hit[0]]
        else:
            keep = held_tail(text, self.stops)
            text, self._held = text[: len(text) - keep], text[len(text) - keep :]
        self.content.append(text)
        return Piece(content=text)

    def flush(self) -> str:
        """The held-back answer tail, once the request has ended without a stop string."""
        tail, self._held = self._held, ""
        if tail:
            self.content.append(tail)
        return tail

    def _lstrip(self, key: str, text: str) -> str:
        if self._started[key]:
            return text
        text = text.lstrip()
        if text:
            self._started[key] = True
        return text
