"""Fakes for tests and benchmarks: a session that streams made-up thinking at a set rate.

`FakeSession` is steerable like a real `s1_engine.Session` (the `Steerable` protocol)
and has a `state` with a budget, but no model behind it and no `result`: it is for
the streaming benchmark (bench/tui/tui_stream.py) and the responsiveness tests, which
measure the console, not a model. Control calls are recorded with their time and
applied at the next token, as the engine does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from s1_engine.events import Event, StreamItem, TokenDelta
from s1_engine.protocols import SessionState

WORDS = [" the", " sum", " of", " x^2", " and", " 2", " is", " **even**,", " so", " we", " get"]


class FakeSession:
    def __init__(
        self,
        tokens: int = 20000,
        rate: float = 5000.0,
        answer: str = " The answer is $\\boxed{42}$.",
        budget: int = 1_000_000,
    ) -> None:
        self.tokens = tokens
        self.rate = rate
        self.answer = answer
        self.budget = budget
        self.calls: list[tuple[str, float]] = []  # (control, perf_counter) as received
        self.applied: list[tuple[str, float]] = []  # (control, perf_counter) in the stream
        self._pending: list[tuple[str, str | None]] = []
        self.produced = 0
        self.started = 0.0
        self.finished = 0.0
        self.done = False

    # the Session control surface
    def _post(self, name: str, arg: str | None = None) -> None:
        self.calls.append((name, time.perf_counter()))
        self._pending.append((name, arg))

    def force_wait(self, text: str | None = None, now: bool = True) -> None:
        self._post("wait", text or "Wait")

    def end_thinking(self) -> None:
        self._post("end")

    def inject(self, text: str) -> None:
        self._post("inject", text)

    def stop(self) -> None:
        self._post("stop")

    def set_budget(self, budget: int | str) -> None:
        self._post("budget", str(budget))

    def set_ignore_str(self, s: str | tuple[str, ...]) -> None:
        self._post("ignore", str(s))

    @property
    def state(self) -> SessionState:
        return SessionState(
            budget=self.budget,
            budget_tokens=self.budget,
            phase="done" if self.done else "think",
            thinking_tokens=self.produced,
            answer_tokens=0,
        )

    async def stream(self, skip: int = 0) -> AsyncIterator[StreamItem]:
        """One pass of made-up thinking and an answer (`skip` is accepted, not used: a
        fake run cannot be reopened)."""
        self.started = start = time.perf_counter()
        n = forced = 0
        yield Event("think_start", "model", 0)
        thinking = True
        reason = "stop"
        while thinking and n < self.tokens:
            due = min(self.tokens, int((time.perf_counter() - start) * self.rate) + 1)
            while n < due:
                while self._pending:
                    name, arg = self._pending.pop(0)
                    self.applied.append((name, time.perf_counter()))
                    if name in ("wait", "inject"):
                        yield Event(name, "user", n + forced, arg or "", n + forced)
                        forced += 1
                        yield TokenDelta(
                            "think", (1,), " " + (arg or "").strip(), True, n + forced, 0
                        )
                    elif name == "end":
                        yield Event("end_thinking", "user", n + forced, "", n + forced)
                        thinking = False
                    elif name == "stop":
                        yield Event("stop", "user", n + forced)
                        thinking, reason = False, "stopped"
                    elif name == "budget":
                        yield Event("budget_changed", "user", n + forced, arg or "")
                if not thinking:
                    break
                n += 1
                self.produced = n
                word = WORDS[n % len(WORDS)]
                if n % 400 == 0:
                    word = "\n\n" + word.lstrip()
                yield TokenDelta("think", (n,), word, False, n + forced, 0)
            await asyncio.sleep(0.001)
        if reason != "stopped":
            if thinking:
                yield Event("end_thinking", "model", n + forced, "", n + forced)
            for i, w in enumerate(self.answer.split(" ")[1:], 1):
                yield TokenDelta("answer", (i,), " " + w, False, n + forced, i)
        yield Event("finish", "model", n + forced, reason)
        self.finished = time.perf_counter()
        self.done = True
