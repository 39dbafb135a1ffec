"""Which keys apply when: the state of the screen's runs (pure), and the footer following it."""

from __future__ import annotations

import dataclasses
import gc

import pytest
from textual.widgets._footer import FooterKey

from s1_engine.events import Event, TokenDelta
from s1_tui.fakes import FakeSession
from s1_tui.run import ReplaySource, Run
from s1_tui.screen_state import ScreenState, key_state, screen_state

from .conftest import SIZE, ask, finished, kinds, make_app, until

STEERING = ["wait_now", "wait_next", "end_thinking", "inject", "stop"]


class Reopenable(FakeSession):
    """A finished session whose machine could think on (a Wait after the answer)."""

    @property
    def state(self):
        return dataclasses.replace(super().state, can_reopen=True)


def run_of(*items, session=None, finished=False) -> Run:
    session = session if session is not None else FakeSession()
    run = Run("q", session, session, finished=finished)
    for item in items:
        run.trace.feed(item)
    return run


THINKING = (Event("think_start", "model", 0), TokenDelta("think", (1,), " a", False, 1, 0))
ANSWERING = THINKING + (Event("end_thinking", "user", 1, "", 1),)
DONE = ANSWERING + (Event("finish", "model", 3, "stop"),)


def test_the_screen_state_of_the_runs():
    assert screen_state([]) is ScreenState.IDLE
    assert screen_state([run_of()]) is ScreenState.THINKING  # before its first token
    assert screen_state([run_of(*THINKING)]) is ScreenState.THINKING
    assert screen_state([run_of(*ANSWERING)]) is ScreenState.ANSWERING
    assert screen_state([run_of(*ANSWERING), run_of(*THINKING)]) is ScreenState.THINKING
    assert screen_state([run_of(*DONE)]) is ScreenState.DONE  # ended, not yet settled: no keys
    assert (
        screen_state([run_of(*DONE, finished=True)]) is ScreenState.DONE
    )  # the fake cannot reopen
    reopenable = run_of(*DONE, session=Reopenable(), finished=True)
    assert screen_state([reopenable]) is ScreenState.ANSWERED
    assert screen_state([reopenable, run_of(*ANSWERING)]) is ScreenState.ANSWERING
    replay = Run("q", ReplaySource([]))  # no session: no key steers it
    assert screen_state([replay]) is ScreenState.DONE


@pytest.mark.parametrize(
    "phase, enabled",
    [
        (ScreenState.IDLE, set()),
        (ScreenState.THINKING, set(STEERING) | {"follow"}),
        (ScreenState.ANSWERING, {"wait_now", "inject", "stop", "follow"}),
        (ScreenState.ANSWERED, {"wait_now", "follow"}),
        (ScreenState.DONE, {"follow"}),
    ],
)
def test_keys_that_apply_in_each_state(phase, enabled):
    for action in [*STEERING, "follow"]:
        assert key_state(action, phase) is (True if action in enabled else None), action
    for action in [*STEERING, "follow"]:  # a narrow footer leaves them out instead
        assert key_state(action, phase, hide=True) is (True if action in enabled else False)
    always = ("new_question", "history", "set_ignore", "help", "quit", "load_model", "pace")
    for action in (*always, "budget_up", "budget_down"):  # idle: the next question's
        assert key_state(action, phase) is True


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
        await until(pilot, lambda: main.screen_state is ScreenState.THINKING, 5, "thinking")
        await until(pilot, lambda: footer_enabled(app, "end_thinking"), 5, "End in the footer")
        assert footer_enabled(app, "wait_now") and footer_enabled(app, "stop")
        await pilot.press("e")
        await finished(pilot, 20)
        assert main.screen_state is ScreenState.DONE
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


async def test_w_after_the_answer_reopens_thinking_and_the_view_reads_on(hf_engine, private_dirs):
    """The s1 demo in the console: the model answered; w makes it think on, in place."""
    app = make_app(hf_engine, format="s1")
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        await finished(pilot)
        main = app.main
        run = main.runs[0]
        assert run.trace.thinking_tokens == 10 and run.view.answer.text.strip() == "xa xb xc"
        assert main.screen_state is ScreenState.ANSWERED
        assert main.check_action("wait_now", ()) is True
        assert main.check_action("end_thinking", ()) is None
        await pilot.press("w")
        await finished(pilot)
        assert main.runs == [run]  # the same run, gone on
        ev = kinds(run)
        assert ev[ev.index(("finish", "model")) + 1 :] == [
            ("think_start", "user"),
            ("wait", "user"),
            ("end_thinking", "model"),
            ("finish", "model"),
        ]
        text = run.view.thinking.text
        assert text.count("t000") == 1  # shown once: the view read on from where it was
        assert "⟪thinking reopened · user⟫" in text and "`⟪Wait · user⟫`  w000" in text
        assert run.view.answer.text.strip() == "xa xb xc"  # the first answer was dropped
        assert run.trace.thinking_tokens == 16 and "Wait 1 (user 1)" in main.status_text
    records = (private_dirs / "history.jsonl").read_text().splitlines()
    assert len(records) == 2  # the answer, then the answer after thinking on
