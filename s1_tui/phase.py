"""What the runs on screen are doing, and which keys apply then (pure: no Textual).

The main screen keeps `phase_of(runs)` in a reactive with `bindings=True`: when the
phase changes the footer greys keys out or back in by itself, and `check_action` is
`key_state(action, phase)`. A key pressed when it no longer applies says why
(`late_reason`) instead of doing nothing. The budget, ignore-string and pace keys always
apply: while nothing thinks they set the next question's values.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from .run import Run


class Phase(str, Enum):
    IDLE = "idle"  # nothing on screen yet
    THINKING = "thinking"  # a run the keys steer is thinking
    ANSWERING = "answering"  # runs the keys steer, none of them thinking
    ANSWERED = "answered"  # none steerable; w would reopen a finished run's thinking
    DONE = "done"  # runs on screen, none steerable (finished, stopped, replayed)


STEER_WHILE_THINKING = frozenset({"wait_next", "end_thinking"})
STEER_WHILE_LIVE = frozenset({"inject", "stop"})
LIVE = frozenset({Phase.THINKING, Phase.ANSWERING})


def phase_of(runs: Sequence[Run]) -> Phase:
    if not runs:
        return Phase.IDLE
    live = [r for r in runs if r.live]
    if any(r.trace.thinking_now for r in live):
        return Phase.THINKING
    if live:
        return Phase.ANSWERING
    if any(r.reopenable for r in runs):
        return Phase.ANSWERED
    return Phase.DONE


def key_state(action: str, phase: Phase, hide: bool = False) -> bool | None:
    """Textual's `check_action` answer: True, the key applies; None, shown greyed out
    (False with `hide`: left out of the footer, where a narrow one has no room)."""
    off = False if hide else None
    if action == "wait_now":
        return True if phase in LIVE or phase is Phase.ANSWERED else off
    if action in STEER_WHILE_LIVE:
        return True if phase in LIVE else off
    if action in STEER_WHILE_THINKING:
        return True if phase is Phase.THINKING else off
    if action == "follow":
        return True if phase is not Phase.IDLE else off
    return True


def late_reason(action: str, phase: Phase, replay: bool = False) -> str:
    """Why a steering key does nothing now (it came too late, or before any run)."""
    if phase is Phase.IDLE:
        return "nothing runs yet: ask a question first (n, then Enter)"
    if replay:
        return "a replay from the history cannot be steered: press n and Enter to ask it again"
    if action in STEER_WHILE_THINKING:
        return "too late: thinking has ended"
    if action == "wait_now":
        return "too late: this run cannot think on (it was stopped, or its context is full)"
    return "too late: the run has ended"
