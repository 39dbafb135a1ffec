"""One request on screen: where its items come from, how far it got, what it records.

A `Run` is plain data (no Textual): the `RunView` that shows it consumes its source and
keeps it up to date. Sessions are reached through two small protocols of
`s1_engine.protocols`, `ItemSource` (anything with `stream(skip)`: a replay, a fake) and
`Steerable` (the public control surface of a session), and what a session knows of its request only through its
public `state` (`machine_facts`), which local and remote sessions both have.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from s1_engine import events as ev
from s1_engine.events import Event, Result, StreamItem
from s1_engine.policy import BudgetPolicy
from s1_engine.protocols import ItemSource, SessionState, Steerable

from .status import RunFigures
from .trace import Trace, item_from_dict

if TYPE_CHECKING:
    from s1_eval.grading import Grade

    from .widgets.run_view import RunView


@dataclass(frozen=True)
class MachineFacts:
    """What the console reads of a session's budget-forcing machine (None: not known)."""

    budget: int | str | None = None
    thinking_tokens: int | None = None
    context_used: int | None = None  # prompt + output tokens
    context_len: int | None = None
    can_reopen: bool = False  # a Wait after the answer would think on


def machine_facts(session: object | None) -> MachineFacts:
    """What the console knows of a session's request, from its public `state`; a source
    without one (a replay) gives all-unknown facts."""
    st: SessionState | None = getattr(session, "state", None)
    if st is None:
        return MachineFacts()
    return MachineFacts(
        budget=st.budget_tokens if st.budget_tokens is not None else st.budget,
        thinking_tokens=st.thinking_tokens,
        context_used=st.context_used,
        context_len=st.context_len,
        can_reopen=st.can_reopen,
    )


class ReplaySource:
    """A recorded run fed back at `speed` x its original pace (inf: at once)."""

    def __init__(self, items: list[dict[str, Any]], speed: float = 4.0) -> None:
        self.items = items
        self.speed = speed

    async def stream(self, skip: int = 0) -> AsyncIterator[StreamItem]:
        start = time.perf_counter()
        for n, d in enumerate(self.items[skip:]):
            if self.speed != float("inf"):
                due = d.get("t", 0.0) / self.speed
                wait = due - (time.perf_counter() - start)
                if wait > 0.004:
                    await asyncio.sleep(wait)
            elif n % 256 == 255:
                await asyncio.sleep(0)
            yield item_from_dict(d)


@dataclass(eq=False)
class Run:
    """One request in one column: its source, its trace, its timings, its record."""

    prompt: str
    source: ItemSource
    session: Steerable | None = None  # None: a replay, which no key steers
    label: str = ""
    policy: BudgetPolicy | None = None
    group: int = 0  # the question it answers (a demo's columns share one)
    trace: Trace = field(default_factory=Trace)
    log: list[dict[str, Any]] = field(default_factory=list)  # its items, for the history
    begin: Callable[[], None] | None = None  # starts its stream (None: it streams already)
    started: float | None = None
    last_token: float | None = None
    active_s: float = 0.0  # seconds of streaming before the current stretch
    active_since: float | None = None  # when the current stretch of streaming began
    ended: bool = False  # its stream ran out
    finished: bool = False  # ended, graded, saved and shown in full
    armed_waits: int = 0  # W presses not yet turned into a Wait
    pending_now: int = 0  # w presses not yet seen in the stream
    grade: Grade | None = None
    record: dict[str, Any] | None = None  # its line in the history
    view: RunView | None = None  # the column that shows it

    @property
    def live(self) -> bool:
        """The keys can steer it now."""
        return self.session is not None and not self.finished and not self.trace.done

    @property
    def reopenable(self) -> bool:
        """Finished, and a Wait would reopen its thinking (w after the answer)."""
        return self.finished and self.session is not None and machine_facts(self.session).can_reopen

    def streamed(self, now: float) -> None:
        """A token came: a stretch of streaming goes on (or begins again)."""
        if self.active_since is None:
            self.active_since = now
        self.last_token = now

    def idle(self, now: float) -> None:
        """The stream stops for now (paused, or ended): the stretch is over."""
        if self.active_since is not None:
            self.active_s += max(0.0, now - self.active_since)
            self.active_since = None

    def active_seconds(self, now: float) -> float:
        """Seconds it streamed, up to `now`."""
        since = self.active_since
        return self.active_s + (max(0.0, now - since) if since is not None else 0.0)

    def note_event(self, e: Event) -> None:
        """A user's Wait reached the stream: one press of w (else of W) is done."""
        if e.kind == ev.WAIT and e.cause == "user":
            if self.pending_now:
                self.pending_now -= 1
            elif self.armed_waits:
                self.armed_waits -= 1

    def figures(self, now: float | None = None) -> RunFigures:
        t = self.trace
        return RunFigures(
            thinking_tokens=t.thinking_tokens,
            answer_tokens=t.answer_tokens,
            budget=t.budget,
            waits=t.counts.waits,
            ends=t.counts.ends,
            armed_waits=self.armed_waits,
            correct=None if self.grade is None else bool(self.grade.correct),
            extracted="" if self.grade is None else self.grade.extracted,
            finish_reason=t.finish_reason,
            error=t.error,
            done=self.ended or self.finished or t.done,
            thinking_now=t.thinking_now,
            active_s=self.active_seconds((self.last_token or 0.0) if now is None else now),
        )

    def problem(self) -> str | None:
        """What went wrong, for the error box (the engine died, the context is full)."""
        t = self.trace
        if t.error:
            return (
                f"The engine failed during generation: {t.error}\n"
                "What to do: press n to ask again; if it keeps failing press m to reload "
                "the model (or restart with --backend hf)."
            )
        m = machine_facts(self.session)
        if t.finish_reason == "length" and m.context_len is not None and m.context_used is not None:
            if m.context_used >= m.context_len - 8:
                return (
                    f"The context is full ({m.context_used} of {m.context_len} tokens): the "
                    "answer was cut.\nWhat to do: lower the budget (-), ask a shorter question, "
                    "or restart with a larger --max-model-len."
                )
        return None

    def history_record(self, result: Result, engine: object, reference: str) -> dict[str, Any]:
        """Its line in the history: what was asked, how it was steered, what came out."""
        return {
            "group": self.group,
            "label": self.label,
            "model": getattr(engine, "model", ""),
            "backend": getattr(engine, "backend_name", ""),
            "format": getattr(getattr(engine, "format", None), "name", ""),
            "prompt": self.prompt,
            "policy": self.policy.label() if self.policy else "",
            "budget": self.trace.budget,
            "reference": reference,
            "correct": bool(self.grade.correct) if self.grade is not None else None,
            "thinking": result.thinking,
            "answer": result.answer,
            "thinking_view": self.trace.thinking,
            "answer_view": self.trace.answer,
            "thinking_tokens": result.thinking_tokens,
            "answer_tokens": result.answer_tokens,
            "finish_reason": result.finish_reason,
            "seconds": round(result.seconds, 3),
            "events": [e.to_dict() for e in result.events],
            "items": self.log,
        }


async def grade_off_loop(answer: str, reference: str, kind: str) -> Grade:
    """Grade in a thread: math-verify may take a while on an odd answer."""
    from s1_eval.grading import grade

    return await asyncio.to_thread(grade, answer, reference, kind)
