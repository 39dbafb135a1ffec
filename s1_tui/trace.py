"""The steering record of one run, as text for the panes (pure: no Textual).

`Trace.feed(item)` takes the engine's stream items (`TokenDelta`, `Event`) in order
and keeps the thinking text (with every intervention marked inline, by who made
it), the answer text, and the counters the status bar shows. The panes take only
what is new (`take()`), so the cost of a flush is the size of the new text.

Items are also turned into small JSON-able dicts for the history (`item_to_dict`,
`item_from_dict`), which replay feeds back through the same `Trace`.
"""

from __future__ import annotations

import re
from typing import Any

from s1_engine import events as ev
from s1_engine.events import Event, StreamItem, TokenDelta
from s1_engine.reducer import StreamState
from s1_engine.wire import item_from_wire, item_to_wire

WHO = {"user": "user", "budget": "budget", "model": "model"}


def marker(text: str) -> str:
    """An inline mark in the trace (inline code stands out from the dim thinking)."""
    return f" `⟪{text}⟫` "


class Trace:
    """Thinking and answer text of one run, built from its stream items.

    The phase, budget and counters are the engine's one reducer (`StreamState`); what
    this adds is the panes' text, with every intervention marked inline."""

    def __init__(self, budget: int | str = "auto") -> None:
        self.state = StreamState(budget=budget)
        self._thinking: list[str] = []  # everything for the thinking pane so far
        self._answer: list[str] = []
        self._new_thinking: list[str] = []
        self._new_answer: list[str] = []
        self.answer_reset = False  # the answer was dropped (thinking reopened)
        self._skip_forced = False  # forced text already shown by its event's mark

    # ----- what the reducer knows -----------------------------------------------------
    phase = property(lambda self: self.state.phase)
    thinking_tokens = property(lambda self: self.state.thinking_tokens)
    answer_tokens = property(lambda self: self.state.answer_tokens)
    finish_reason = property(lambda self: self.state.finish_reason)
    events = property(lambda self: self.state.events)
    items = property(lambda self: self.state.items)
    counts = property(lambda self: self.state)  # waits / ends by cause, injects

    @property
    def error(self) -> str:
        return self.state.error

    @error.setter
    def error(self, value: str) -> None:
        self.state.error = value

    @property
    def budget(self) -> int | str:
        return self.state.budget

    @budget.setter
    def budget(self, value: int | str) -> None:
        self.state.budget = value

    # ----- feeding ------------------------------------------------------------------
    @property
    def thinking(self) -> str:
        if len(self._thinking) > 1:
            self._thinking[:] = ["".join(self._thinking)]
        return self._thinking[0] if self._thinking else ""

    @property
    def answer(self) -> str:
        if len(self._answer) > 1:
            self._answer[:] = ["".join(self._answer)]
        return self._answer[0] if self._answer else ""

    def _think(self, text: str) -> None:
        if text:
            text = hard_breaks(text)
            self._thinking.append(text)
            self._new_thinking.append(text)

    def _add_answer(self, text: str) -> None:
        if text:
            text = hard_breaks(text)
            self._answer.append(text)
            self._new_answer.append(text)

    def feed(self, item: StreamItem) -> None:
        phase = self.state.phase
        self.state.feed(item)
        if isinstance(item, TokenDelta):
            if item.forced and self._skip_forced and item.segment == "think":
                return
            self._skip_forced = False
            if item.segment in ("pre", "think"):
                self._think(item.text)
            elif item.segment == "answer":
                self._add_answer(item.text)
            return
        self._event(item, phase)

    def _event(self, e: Event, phase: str) -> None:
        """The inline mark of an event (`phase`: the phase before it)."""
        self._skip_forced = False
        who = WHO.get(e.cause, e.cause)
        in_answer = phase == "answer"
        if e.kind == ev.THINK_START and e.text == "reopened":
            self._think(marker(f"thinking reopened · {who}"))
            self._answer.clear()
            self._new_answer.clear()
            self.answer_reset = True
        elif e.kind == ev.WAIT:
            self._think(marker(f"{e.text.strip()} · {who}"))
            self._skip_forced = True
        elif e.kind == ev.INJECT:
            mark = marker(f"inject · {who}: {e.text.strip()}")
            self._add_answer(mark) if in_answer else self._think(mark)
            self._skip_forced = True
        elif e.kind == ev.END_THINKING:
            why = f" · {e.text}" if e.cause == "policy" and e.text else ""  # DEER's confidence
            self._think(marker(f"end of thinking · {who} · {e.thinking_tokens} tokens{why}"))
        elif e.kind == ev.PROBE:
            self._think(marker(f"probe · {who} · {e.text}"))
        elif e.kind == ev.SUPPRESS:
            self._think(marker(f"suppressed {e.text.strip()!r} · {who}"))
        elif e.kind == ev.BUDGET_CHANGED:
            self._think(marker(f"budget → {e.text} · {who}"))
        elif e.kind == ev.STOP:
            mark = marker(f"stopped · {who}" + (f": {e.text}" if e.text else ""))
            self._add_answer(mark) if in_answer else self._think(mark)

    # ----- reading ------------------------------------------------------------------
    def take(self) -> tuple[str, str, bool]:
        """(new thinking text, new answer text, answer was reset) since the last take."""
        think = "".join(self._new_thinking)
        answer = "".join(self._new_answer)
        reset = self.answer_reset
        self._new_thinking.clear()
        self._new_answer.clear()
        self.answer_reset = False
        return think, answer, reset

    @property
    def done(self) -> bool:
        return self.phase == "done"

    @property
    def thinking_now(self) -> bool:
        return self.phase in ("pre", "think")


def hard_breaks(text: str) -> str:
    """Keep the model's line breaks: Markdown would join single newlines into one line
    (a trailing double space makes a hard break; harmless inside code blocks)."""
    return text.replace("\n", "  \n") if "\n" in text else text


# ----- history form ---------------------------------------------------------------------
def item_to_dict(item: StreamItem, t: float = 0.0) -> dict[str, Any]:
    """An item for the history file: the engine's wire form, and its time `t`."""
    return {**item_to_wire(item), "t": round(t, 4)}


def item_from_dict(d: dict[str, Any]) -> StreamItem:
    """An item from the history file (the wire form, or the short form of older files)."""
    if "type" in d:
        return item_from_wire(d)
    if "e" in d:
        return Event(d["e"], d["c"], d["i"], d.get("x", ""), d.get("tt", 0))
    return TokenDelta(d["d"], (0,) * int(d.get("n", 1)), d["x"], bool(d["f"]), d["tt"], d["at"])


# ----- LaTeX-ish math, shown readably -----------------------------------------------------
_SYMBOLS = {
    r"\cdot": "·",
    r"\times": "×",
    r"\div": "÷",
    r"\leq": "≤",
    r"\geq": "≥",
    r"\le": "≤",
    r"\ge": "≥",
    r"\neq": "≠",
    r"\ne": "≠",
    r"\approx": "≈",
    r"\pm": "±",
    r"\infty": "∞",
    r"\to": "→",
    r"\rightarrow": "→",
    r"\Rightarrow": "⇒",
    r"\implies": "⇒",
    r"\sum": "Σ",
    r"\prod": "Π",
    r"\int": "∫",
    r"\in": "∈",
    r"\alpha": "α",
    r"\beta": "β",
    r"\gamma": "γ",
    r"\delta": "δ",
    r"\theta": "θ",
    r"\lambda": "λ",
    r"\mu": "μ",
    r"\pi": "π",
    r"\sigma": "σ",
    r"\phi": "φ",
    r"\omega": "ω",
    r"\circ": "°",
    r"\ldots": "…",
    r"\dots": "…",
    r"\quad": "  ",
    r"\,": " ",
    r"\;": " ",
    r"\left": "",
    r"\right": "",
}
_BRACE = r"\{((?:[^{}]|\{[^{}]*\})*)\}"
_FRAC = re.compile(r"\\[dt]?frac" + _BRACE + _BRACE)
_SQRT = re.compile(r"\\sqrt" + _BRACE)
_BOXED = re.compile(r"\\boxed" + _BRACE)
_TEXT = re.compile(r"\\(?:text|mathrm|mathbf|operatorname)" + _BRACE)
_SYMBOL = re.compile(
    "|".join(
        re.escape(k) + (r"(?![A-Za-z])" if k[-1].isalpha() else "")
        for k in sorted(_SYMBOLS, key=len, reverse=True)
    )
)
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)


def _group(s: str) -> str:
    return s if re.fullmatch(r"[\w.]+", s) else f"({s})"


def _math(s: str) -> str:
    for _ in range(3):  # nested fractions
        s = _FRAC.sub(lambda m: f"{_group(m[1])}/{_group(m[2])}", s)
        s = _SQRT.sub(lambda m: f"√{_group(m[1])}", s)
    s = _BOXED.sub(lambda m: f"**{m[1]}**", s)
    s = _TEXT.sub(lambda m: m[1], s)
    s = _SYMBOL.sub(lambda m: _SYMBOLS[m[0]], s)
    s = re.sub(r"\^\{([^{}]*)\}", r"^\1", s)
    s = re.sub(r"\\\[|\\\]", "\n", s)
    s = re.sub(r"\\\(|\\\)", "", s)
    s = re.sub(r"\$\$|(?<!\\)\$", "", s)
    return s


def prettify_math(text: str) -> str:
    """LaTeX-ish math as plain readable text (code spans and blocks left alone)."""
    if "\\" not in text and "$" not in text:
        return text
    parts = _CODE.split(text)
    return "".join(p if i % 2 else _math(p) for i, p in enumerate(parts))
