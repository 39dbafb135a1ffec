"""Which keys apply when: the phase of the runs (pure), and the footer following it."""

from __future__ import annotations

import gc

import pytest
from textual.widgets._footer import FooterKey

from s1_engine.events import Event, TokenDelta
from s1_tui.fakes import FakeSession
from s1_tui.phase import Phase, key_state, phase_of
from s1_tui.run import ReplaySource, Run

from .conftest import SIZE, finished, make_app, until

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


def footer_enabled(app, action: str) -> bool:
    keys = [k for k in app.main.query(FooterKey) if k.action == action]
    return bool(keys) and not keys[0].has_class("-disabled")


async def test_the_footer_follows_the_phase_by_itself():
    """The phase reactive refreshes the footer (bindings=True): no hand-made refresh."""
    app = make_app(None, load=False)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        main.views[0].thinking.focus()  # out of the prompt box: letter keys are in the footer
        await pilot.pause()
        assert footer_enabled(app, "new_question")
        assert not footer_enabled(app, "end_thinking") and not footer_enabled(app, "wait_now")
        src = FakeSession(tokens=100_000, rate=500)
        main.show_source(src, "q", session=src)
        await until(pilot, lambda: main.phase is Phase.THINKING, 5, "thinking")
        await until(pilot, lambda: footer_enabled(app, "end_thinking"), 5, "End in the footer")
        assert footer_enabled(app, "wait_now") and footer_enabled(app, "stop")
        await pilot.press("e")
        await finished(pilot, 20)
        assert main.phase is Phase.DONE
        await until(pilot, lambda: not footer_enabled(app, "stop"), 5, "Stop greyed out")
        assert not footer_enabled(app, "end_thinking") and not footer_enabled(app, "wait_now")


async def test_full_collections_come_back_when_the_app_closes_mid_stream():
    normal = gc.get_threshold()
    app = make_app(None, load=False)
    async with app.run_test(size=SIZE) as pilot:
        src = FakeSession(tokens=100_000, rate=500)
        app.main.show_source(src, "q", session=src)
        await until(pilot, lambda: src.produced > 50, 10, "the stream")
        assert gc.get_threshold()[2] == 1_000_000  # no full collections while it streams
    assert gc.get_threshold() == normal
