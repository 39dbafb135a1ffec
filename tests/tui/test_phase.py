"""Which keys apply when: the phase of the runs (pure)."""

from __future__ import annotations

import pytest

from s1_engine.events import Event, TokenDelta
from s1_tui.fakes import FakeSession
from s1_tui.phase import Phase, key_state, phase_of
from s1_tui.run import ReplaySource, Run

STEERING = ["wait_now", "wait_next", "end_thinking", "inject", "stop", "budget_up", "budget_down"]


class Reopenable(FakeSession):
    """A finished session whose machine could think on (a Wait after the answer)."""

    def can_reopen(self) -> bool:
        return True


def run_of(*items, session=None, finished=False) -> Run:
    session = session if session is not None else FakeSession()
    run = Run("q", session, session, finished=finished)
    for item in items:
        run.trace.feed(item)
    return run


THINKING = (Event("think_start", "model", 0), TokenDelta("think", (1,), " a", False, 1, 0))
ANSWERING = THINKING + (Event("end_thinking", "user", 1, "", 1),)
DONE = ANSWERING + (Event("finish", "model", 3, "stop"),)


def test_phase_of_the_runs():
    assert phase_of([]) is Phase.IDLE
    assert phase_of([run_of()]) is Phase.THINKING  # before its first token
    assert phase_of([run_of(*THINKING)]) is Phase.THINKING
    assert phase_of([run_of(*ANSWERING)]) is Phase.ANSWERING
    assert phase_of([run_of(*ANSWERING), run_of(*THINKING)]) is Phase.THINKING
    assert phase_of([run_of(*DONE)]) is Phase.DONE  # ended, not yet settled: no keys
    assert phase_of([run_of(*DONE, finished=True)]) is Phase.DONE  # the fake cannot reopen
    reopenable = run_of(*DONE, session=Reopenable(), finished=True)
    assert phase_of([reopenable]) is Phase.ANSWERED
    assert phase_of([reopenable, run_of(*ANSWERING)]) is Phase.ANSWERING
    replay = Run("q", ReplaySource([]))  # no session: no key steers it
    assert phase_of([replay]) is Phase.DONE


@pytest.mark.parametrize(
    "phase, enabled",
    [
        (Phase.IDLE, set()),
        (Phase.THINKING, set(STEERING) | {"follow"}),
        (Phase.ANSWERING, {"wait_now", "inject", "stop", "follow"}),
        (Phase.ANSWERED, {"wait_now", "follow"}),
        (Phase.DONE, {"follow"}),
    ],
)
def test_keys_that_apply_in_each_phase(phase, enabled):
    for action in [*STEERING, "follow"]:
        assert key_state(action, phase) is (True if action in enabled else None), action
    for always in ("new_question", "history", "set_ignore", "help", "quit", "load_model"):
        assert key_state(always, phase) is True
