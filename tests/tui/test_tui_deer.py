"""DEER in the console: the status line names it, and each probe shows in the thinking with
its confidence, as the run goes (real app on the real transformers engine, pilot)."""

from __future__ import annotations

from s1_tui.status import controls_label

from .conftest import SIZE, ask, finished, kinds, make_app


def test_the_status_line_names_deer():
    assert controls_label([], "", 0, "", deer=0.95) == "deer 0.95"
    assert controls_label([], "", 0, "nowait", deer=2.0) == "nowait · deer 2"
    assert controls_label([], "", 0) == ""


async def test_each_probe_shows_inline_with_its_confidence(hf_engine):
    """Threshold 2 (never exits): probes before both Waits; then 0.95: the first ends it."""
    app = make_app(hf_engine, max_thinking="40")
    p = app.settings.policy
    p.num_ignore, p.deer = "2", 2.0
    probe = "⟪probe · policy · confidence 1.000 · 'xa xb xc'⟫"
    async with app.run_test(size=SIZE) as pilot:
        assert "deer 2" in app.main.status_text
        await ask(pilot)
        await finished(pilot)
        run = app.main.runs[0]
        assert kinds(run)[1:5] == [
            ("probe", "policy"),
            ("wait", "budget"),
            ("probe", "policy"),
            ("wait", "budget"),
        ]
        thinking = run.view.thinking.text
        assert thinking.count(probe) == 2 and run.trace.thinking_tokens == 22
    app = make_app(hf_engine, max_thinking="40")
    p = app.settings.policy
    p.num_ignore, p.deer = "2", 0.95
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        await finished(pilot)
        run = app.main.runs[0]
        assert kinds(run)[1:3] == [("probe", "policy"), ("end_thinking", "policy")]
        thinking = run.view.thinking.text
        assert probe in thinking
        assert "⟪end of thinking · policy · 10 tokens · confidence 1.000⟫" in thinking
