"""The typed seams between the engine and its consumers (server, console, evaluation).

`Engine` and `s1_serve.RemoteEngine` both satisfy `EngineLike`; their sessions both
satisfy `SessionLike`. Consumers take these types and read a session's `state`
(a `SessionState` snapshot), never its machine, backend or loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .events import Result, StreamItem
from .policy import Budget, BudgetPolicy
from .steps import Phase


@dataclass(frozen=True)
class SessionState:
    """What a consumer may know of a running request (None: not known to this session)."""

    budget: Budget | int  # the thinking budget as set (a number, or "auto" / "fit")
    budget_tokens: int | None  # that budget in tokens for this request, once resolved
    phase: Phase
    thinking_tokens: int
    answer_tokens: int
    finish_reason: str | None = None
    context_used: int | None = None  # prompt + output tokens
    context_len: int | None = None
    can_reopen: bool = False  # a Wait after the answer would think on


class ItemSource(Protocol):
    """Anything whose stream items a reader can follow: a session, a replay, a fake."""

    def stream(self, skip: int = 0) -> AsyncIterator[StreamItem]: ...


class Steerable(ItemSource, Protocol):
    """The interventions on a running request (each applied at its next token): what the
    console's keys and the server's control route call."""

    def force_wait(self, text: str | None = None, now: bool = True) -> None: ...

    def end_thinking(self) -> None: ...

    def inject(self, text: str) -> None: ...

    def stop(self) -> None: ...

    def set_budget(self, budget: int | str) -> None: ...

    def set_ignore_str(self, ignore_str: str | tuple[str, ...]) -> None: ...


@runtime_checkable
class SessionLike(Steerable, Protocol):
    """One request: its stream, its result, and the interventions on it."""

    id: str | None

    @property
    def state(self) -> SessionState: ...

    @property
    def done(self) -> bool: ...

    def begin(self) -> None: ...

    def result(self, timeout: float | None = None) -> Result: ...

    async def aresult(self) -> Result: ...

    def items(self) -> list[StreamItem]: ...

    def stream_batches(self) -> AsyncIterator[list[StreamItem]]: ...

    def __iter__(self) -> Iterator[StreamItem]: ...


@runtime_checkable
class EngineLike(Protocol):
    """Something that runs budget-forced requests: the in-process engine or a server."""

    model: str
    backend_name: str
    max_model_len: int

    def start(
        self,
        prompt: Any,
        policy: BudgetPolicy | None = None,
        format: str | None = None,
        paused: bool = False,
        live: bool = True,
    ) -> SessionLike: ...

    def generate(
        self, prompt: Any, policy: BudgetPolicy | None = None, format: str | None = None
    ) -> Result: ...

    def generate_many(
        self, prompts: Sequence[Any], policies: BudgetPolicy | Sequence[BudgetPolicy] | None = None
    ) -> list[Result]: ...

    def close(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...
