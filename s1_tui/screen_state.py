"""What the runs on screen are doing, and which keys apply then (pure: no Textual).

Not a request's phase (`s1_engine.steps.Phase`: pre, think, answer, done): the state of
the screen's runs together. The main screen keeps `screen_state(runs)` in a reactive
with `bindings=True`: when it changes the footer greys keys out or back in by itself,
and `check_action` is `key_state(action, state)`. A key pressed when it no longer applies says why
(`late_reason`) instead of doing nothing. The budget, ignore-string and pace keys always
apply: while nothing thinks they set the next question's values.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from .run import Run


class ScreenState(str, Enum):
    IDLE = "idle"  # nothing on screen yet
    THINKING = "thinking"  # a run the keys steer is thinking
    ANSWERING = "answering"  # runs the keys steer, none of them thinking
    ANSWERED = "answered"  # none steerable; w would reopen a finished run's thinking
    DONE = "done"  # runs on screen, none steerable (finished, stopped, replayed)


STEER_WHILE_THINKING = frozenset({"wait_next", "end_thinking"})
STEER_WHILE_LIVE = frozenset({"inject", "stop"})
LIVE = frozenset({ScreenState.THINKING, ScreenState.ANSWERING})


def screen_state(runs: Sequence[Run]) -> ScreenState:
    if not runs:
        return ScreenState.IDLE
    live = [r for r in runs if r.live]
    if any(r.trace.thinking_now for r in live):
        return ScreenState.THINKING
    if live:
        return ScreenState.ANSWERING
    if any(r.reopenable for r in runs):
        return ScreenState.ANSWERED
    return ScreenState.DONE


def key_state(action: str, state: ScreenState, hide: bool = False) -> bool | None:
    """Textual's `check_action` answer: True, the key applies; None, shown greyed out
    (False with `hide`: left out of the footer, where a narrow one has no room)."""
    off = False if hide else None
    if action == "wait_now":
        return True if state in LIVE or state is ScreenState.ANSWERED else off
    if action in STEER_WHILE_LIVE:
        return True if state in LIVE else off
    if action in STEER_WHILE_THINKING:
        return True if state is ScreenState.THINKING else off
    if action == "follow":
        return True if state is not ScreenState.IDLE else off
    return True


def late_reason(action: str, state: ScreenState, replay: bool = False) -> str:
    """Why a steering key does nothing now (it came too late, or before any run)."""
    if state is ScreenState.IDLE:
        return "nothing runs yet: ask a question first (n, then Enter)"
    if replay:
        return "a replay from the history cannot be steered: press n and Enter to ask it again"
    if action in STEER_WHILE_THINKING:
        return "too late: thinking has ended"
    if action == "wait_now":
        return "too late: this run cannot think on (it was stopped, or its context is full)"
    return "too late: the run has ended"
