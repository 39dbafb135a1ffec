"""Steering the fast default model by hand: the pace, the inject box that holds the run,
the keys that set the next question while idle, the keys that come too late and say so.

Real app (Pilot), real engines: the embedded tiny-s1 model (it thinks ~70 tokens of
`22-3=19 count 1` lines, in well under a second at full speed) and the scripted model.
"""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input

from s1_engine.engine import DEFAULT_MODEL_EXAMPLE as Q22
from s1_tui.fakes import FakeSession
from s1_tui.screen_state import ScreenState
from s1_tui.widgets.prompt import PromptBox

from .conftest import SIZES, ask, finished, kinds, make_app, said, until


def tokens(app) -> int:
    return app.main.runs[0].trace.thinking_tokens


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_at_a_pace_of_10_e_pressed_2s_after_asking_ends_thinking(embedded, size):
    app = make_app(embedded, max_thinking="fit", pace=10)
    async with app.run_test(size=size) as pilot:
        assert app.paceable and app.pace.tokens_per_s == 10
        assert "pace 10/s" in app.main.status_text
        await ask(pilot, Q22)
        assert not isinstance(app.focused, PromptBox)  # the letters steer now
        await asyncio.sleep(2.0)  # a hand on the keys
        assert app.main.screen_state is ScreenState.THINKING  # at full speed it would be long done
        await pilot.press("e")
        await finished(pilot, 60)
        run = app.main.runs[0]
        assert ("end_thinking", "user") in kinds(run)
        assert 8 <= run.trace.thinking_tokens <= 40  # ~2.5 s of 10 tokens a second
        assert "⟪end of thinking · user" in run.view.thinking.text
        assert "Final Answer:" in run.view.answer.text
        status = app.main.status_text
        assert "end 1" in status and status.endswith("done: stop"), status
        assert len(status) <= size[0] - 2


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_p_changes_the_pace_live_and_for_the_next_question(embedded, size):
    app = make_app(embedded, max_thinking="fit")
    async with app.run_test(size=size) as pilot:
        await pilot.press("escape")  # out of the question box
        await pilot.press("p")  # idle: full speed -> 20 tokens a second
        assert app.pace.tokens_per_s == 20 and "pace: 20 tokens/s" in said(app)
        assert "pace 20/s" in app.main.status_text
        await ask(pilot, Q22)
        await until(pilot, lambda: tokens(app) >= 3, 20, "thinking")
        await pilot.press("p", "p")  # live: 10, then 5 tokens a second
        assert app.pace.tokens_per_s == 5 and "pace 5/s" in app.main.status_text
        await pilot.pause(0.3)
        t0, n0 = asyncio.get_running_loop().time(), tokens(app)
        await asyncio.sleep(1.5)
        rate = (tokens(app) - n0) / (asyncio.get_running_loop().time() - t0)
        assert 1 <= rate <= 6.5, rate  # (a loaded CPU may be slower, never faster)
        for _ in range(2):  # 2, then full speed again
            await pilot.press("p")
        assert app.pace.tokens_per_s == 0 and "pace: full speed" in said(app)
        await finished(pilot, 30)  # at full speed it ends at once
        assert "pace" not in app.main.status_text


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_the_inject_box_holds_the_run_while_it_is_open(embedded, size):
    app = make_app(embedded, max_thinking="fit", pace=10)
    async with app.run_test(size=size) as pilot:
        await ask(pilot, Q22)
        await until(pilot, lambda: tokens(app) >= 5, 20, "thinking")
        await pilot.press("i")
        assert type(app.screen).__name__ == "AskText"
        await pilot.pause(0.3)  # a token already on its way may land
        held = tokens(app)
        await asyncio.sleep(1.2)  # 12 tokens at this pace, were it not held
        assert tokens(app) == held
        assert app.main.status_text.endswith("paused")
        app.screen.query_one(Input).value = "Let me check"
        await pilot.press("enter")
        await until(pilot, lambda: tokens(app) > held + 3, 10, "the run goes on")
        assert not app.pace.paused and ("inject", "user") in kinds(app.main.runs[0])
        assert "⟪inject · user: Let me check⟫" in app.main.runs[0].trace.thinking
        await pilot.press("s")
        await finished(pilot, 30)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_text_for_a_run_that_ended_meanwhile_is_not_dropped_silently(size):
    """A run that cannot be held (no local engine: a fake here, a server in real use)
    ends while the user types: the console says the text came too late."""
    app = make_app(None, load=False)
    src = FakeSession(tokens=600, rate=600)
    async with app.run_test(size=size) as pilot:
        app.main.show_source(src, "fast", session=src)
        await until(pilot, lambda: src.produced > 10, 10, "the stream")
        await pilot.press("i")
        app.screen.query_one(Input).value = "too slow"
        await finished(pilot, 20)
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert any(m.startswith("too late: the run ended") for m in said(app)), said(app)
        assert ("inject", "user") not in kinds(app.main.runs[0])


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_budget_keys_set_the_next_questions_budget_while_idle(hf_engine, size):
    app = make_app(hf_engine, format="s1", max_thinking="fit", budget_step=4)
    async with app.run_test(size=size) as pilot:
        await pilot.press("escape")
        assert app.main.check_action("budget_up", ()) is True  # not greyed out while idle
        await pilot.press("plus")  # 'fit' -> one step
        assert app.settings.policy.max_thinking == "4"
        assert "the next question thinks for at most 4 tokens" in said(app)
        await pilot.press("plus", "plus", "minus")
        assert app.settings.policy.max_thinking == "8"
        assert "think 0/8" in app.main.status_text.replace("▕░░░░░░░░░░░░▏ ", "")
        await ask(pilot)
        await finished(pilot)
        run = app.main.runs[0]
        assert run.trace.budget == 8 and run.trace.thinking_tokens == 8
        assert ("end_thinking", "budget") in kinds(run)
        await pilot.press("minus")  # after the run: the next one's again
        assert app.settings.policy.max_thinking == "4" and run.trace.budget == 8


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_keys_that_come_too_late_say_why(hf_engine, size):
    app = make_app(hf_engine, format="s1")
    async with app.run_test(size=size) as pilot:
        await pilot.press("escape")
        await pilot.press("e")  # nothing runs yet
        assert any(m.startswith("nothing runs yet") for m in said(app)), said(app)
        await ask(pilot)
        await finished(pilot)
        # greyed out (a narrow footer leaves it out: no room for keys that do not apply) ...
        assert app.main.check_action("end_thinking", ()) is (False if app.main.narrow else None)
        await pilot.press("e")  # ... and pressed anyway
        assert "too late: thinking has ended" in said(app)
        await pilot.press("s")
        assert "too late: the run has ended" in said(app)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_w_after_a_replay_says_why_it_does_nothing(hf_engine, size):
    app = make_app(hf_engine, format="s1")
    async with app.run_test(size=size) as pilot:
        await ask(pilot)
        await finished(pilot)
        await pilot.press("h")
        await pilot.press("enter")  # reopen the run from the history
        await until(pilot, lambda: app.main.runs and app.main.runs[0].finished, 10, "reopen")
        assert app.main.runs[0].session is None
        greyed = False if app.main.narrow else None  # a narrow footer leaves it out
        assert app.main.check_action("wait_now", ()) is greyed
        await pilot.press("w")
        reason = "a replay from the history cannot be steered: press n and Enter to ask it again"
        assert reason in said(app)
