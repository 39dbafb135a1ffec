"""SVG snapshots (pytest-textual-snapshot) of the main screen, the help and the demo mode.

Deterministic: the real engine with the scripted model (s1 format: exact text), a
frozen clock (no tokens/s figure), no cursor blink, runs waited to their end.
Update with `pytest tests/tui --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from textual.widgets import Input

from .conftest import SIZE, ask, finished, make_app


def frozen() -> float:
    return 0.0


async def no_blink(pilot) -> None:
    for box in pilot.app.query(Input):
        box.cursor_blink = False
    await pilot.pause()


async def ask_and_finish(pilot) -> None:
    await no_blink(pilot)
    await ask(pilot)
    await finished(pilot)
    await no_blink(pilot)


def test_main_screen_idle(snap_compare, hf_engine):
    app = make_app(hf_engine, format="s1", clock=frozen)
    assert snap_compare(app, terminal_size=SIZE, run_before=no_blink)


def test_main_screen_after_a_run(snap_compare, hf_engine):
    """Thinking (dim) with the marks, the answer, the status bar after a budget-forced run."""
    app = make_app(hf_engine, format="s1", max_thinking="12", clock=frozen)
    app.settings.policy.num_ignore = "1"
    assert snap_compare(app, terminal_size=SIZE, run_before=ask_and_finish)


def test_help_screen(snap_compare, hf_engine):
    app = make_app(hf_engine, format="s1", clock=frozen)

    async def open_help(pilot) -> None:
        await no_blink(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 44), run_before=open_help)


def test_side_by_side_demo(snap_compare, hf_engine):
    app = make_app(hf_engine, format="s1", demo="4,8,w1", reference="xa xb xc", clock=frozen)
    assert snap_compare(app, terminal_size=SIZE, run_before=ask_and_finish)
