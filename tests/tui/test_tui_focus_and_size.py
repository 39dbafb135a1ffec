"""Where the focus is and what the footer offers there; an 80 x 24 terminal keeps New,
Help, Quit and the phase; --reference grades only its own question; -q shows it.

Real app (Pilot) on the scripted model, or a fake stream where only the console is
under test.
"""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from textual.widgets._footer import FooterKey

from s1_tui.app import S1App
from s1_tui.fakes import FakeSession
from s1_tui.screen_state import ScreenState
from s1_tui.screens.help import help_markdown
from s1_tui.screens.main import WHAT
from s1_tui.widgets.prompt import PromptBox

from .conftest import SIZES, Q, ask, finished, make_app, make_settings, until

STEERING = {"wait_now", "wait_next", "end_thinking", "inject", "stop", "budget_up", "pace"}


def footer(app) -> dict[str, FooterKey]:
    return {k.action: k for k in app.main.query(FooterKey)}


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_the_question_box_footer_shows_only_what_works_there(hf_engine, size):
    app = make_app(hf_engine, format="s1")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert isinstance(app.focused, PromptBox)  # at start: type the question
        keys = footer(app)
        assert {"screen.leave_prompt", "app.quit", "help"} <= set(keys), set(keys)
        assert not STEERING & set(keys) and "new_question" not in keys
        assert "quit_key" not in keys  # q types into the box: ctrl+q is offered instead
        await pilot.press("escape")  # leaves the box: the letters are keys again
        await pilot.pause()
        assert not isinstance(app.focused, PromptBox)
        keys = footer(app)
        assert {"new_question", "quit_key", "help", "pace"} <= set(keys), set(keys)
        # idle, w does nothing: greyed out when there is room, left out of a narrow footer
        assert ("wait_now" in keys) is (not app.main.narrow), set(keys)
        await pilot.press("n")  # back into the box
        await pilot.pause()
        assert isinstance(app.focused, PromptBox) and "wait_now" not in footer(app)
        await ask(pilot)
        assert not isinstance(app.focused, PromptBox)  # after Enter: steer at once
        await finished(pilot)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_a_failed_load_takes_the_focus_out_of_the_box(tmp_path, size):
    app = make_app(None, model=str(tmp_path / "no-such-model"), format="s1")
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.engine_state == "failed", 30, "the load error")
        await pilot.pause()
        assert not isinstance(app.focused, PromptBox)
        await pilot.press("m")  # the banner says: press m to load another model
        assert type(app.screen).__name__ == "AskText"


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
async def test_new_help_quit_and_the_phase_stay_on_screen(size):
    app = make_app(None, load=False)
    src = FakeSession(tokens=100_000, rate=500)
    async with app.run_test(size=size) as pilot:
        app.main.show_source(src, "How many times can 3 be taken from 22?", session=src)
        await until(pilot, lambda: app.main.screen_state is ScreenState.THINKING, 10, "thinking")
        await until(pilot, lambda: "end_thinking" in footer(app), 10, "the footer")
        keys = footer(app)
        for action in ("new_question", "help", "quit_key", "wait_now", "end_thinking", "stop"):
            assert action in keys, (action, set(keys))
            assert keys[action].region.right <= size[0], (action, keys[action].region)
        assert app.main.status_text.endswith("thinking")
        assert len(app.main.status_text) <= size[0] - 2
        await pilot.press("e")
        await finished(pilot, 20)
        await until(pilot, lambda: "end_thinking" not in footer(app) or size[0] >= 120, 5)
        keys = footer(app)
        assert {"new_question", "help", "quit_key"} <= set(keys)
        if size[0] < 120:  # narrow: what no longer applies is left out, not greyed
            assert "end_thinking" not in keys and "stop" not in keys
        else:
            assert keys["end_thinking"].has_class("-disabled")
        assert app.main.status_text.endswith("done: stop")


def test_the_help_table_keeps_wait_or_hmm_in_one_cell():
    """A '|' in a key's text ("Wait|Hmm") would end its table cell."""
    rows = [("g", "Ignore str", WHAT["set_ignore"]), ("w", "Wait", WHAT["wait_now"])]
    tokens = MarkdownIt("gfm-like").parse(help_markdown(rows))
    cells = [t.children[0].content for t in tokens if t.type == "inline" and t.children]
    row = cells[cells.index("Ignore str") - 1 : cells.index("Ignore str") + 2]
    assert row[2] == 'Set the ignore string ("Wait", or "Wait|Hmm" to rotate)', row


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_reference_grades_only_the_question_it_came_with(hf_engine, size):
    app = make_app(hf_engine, format="s1", demo="4,w1", reference="xa xb xc")
    async with app.run_test(size=size) as pilot:
        await ask(pilot)
        await finished(pilot)
        assert all(r.grade is not None and r.grade.correct for r in app.main.runs)
        app.main.prompt_box.value = ""
        await pilot.press("n")
        await ask(pilot, "What is 2+3?")  # a new question: the reference is not its answer
        await until(pilot, lambda: all(r.prompt == "What is 2+3?" for r in app.main.runs), 10)
        await finished(pilot)
        assert all(r.grade is None for r in app.main.runs)
        lines = [str(r.view.line.render()) for r in app.main.runs]
        assert not any("✔" in x or "✘" in x for x in lines), lines
        assert all(r.record and r.record["reference"] == "" for r in app.main.runs)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
async def test_a_question_given_with_q_is_shown_in_the_box(hf_engine, size):
    app = S1App(make_settings(format="s1"), hf_engine, ask_now=Q)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.main.runs and app.main.runs[0].finished, 30, "the run")
        assert app.main.prompt_box.value == Q
        assert not isinstance(app.focused, PromptBox)
