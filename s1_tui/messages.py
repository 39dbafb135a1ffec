"""The console's messages: engine and run news, posted up to whoever handles them with `@on`.

A `RunView` posts `RunEvent` and `RunFinished` from its worker (they bubble up to the
main screen); the app posts `EngineReady` / `EngineFailed` from its loading thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from s1_engine.events import Event, Result

if TYPE_CHECKING:
    from s1_engine.engine import Engine

    from .run import Run


@dataclass
class RunEvent(Message):
    """A budget-forcing transition of a run (a Wait, the end of thinking, a stop, ...)."""

    run: Run
    event: Event


@dataclass
class RunFinished(Message):
    """A run's stream ran out; `result` is the session's (None: a replay or a fake)."""

    run: Run
    result: Result | None


@dataclass
class EngineReady(Message):
    engine: Engine


@dataclass
class EngineFailed(Message):
    problem: str
    fix: str
    details: str = ""

    def banner(self) -> str:
        """The error box's text: what went wrong, what to do, and the way on."""
        return (
            f"Cannot load the model: {self.problem}\nWhat to do: {self.fix}. "
            "Press m to load another model, h for history, q to quit."
            + (f"\n{self.details}" if self.details else "")
        )
