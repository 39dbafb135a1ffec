"""The thinking controls after s1 in the console: the status line names the ones the
policy runs, and their events show in the thinking as they happen (real app, pilot)."""

from __future__ import annotations

from s1_tui.status import StatusSnapshot, controls_label, status_line

from .conftest import SIZE, ask, finished, kinds, make_app


def test_the_status_line_names_the_controls():
    label = controls_label([(0, "Check.")], "Time is up.", 32)
    assert label == "intervene@0 · wrap-up · grace 32"
    assert controls_label([], "", 0) == ""
    assert controls_label([], "", 0, "nowait") == "nowait"
    assert controls_label([], "", 0, "Wait|Hmm") == "suppress Wait|Hmm"
    line = status_line(StatusSnapshot(model="m", backend="hf", controls=label), 160)
    assert "intervene@0 · wrap-up · grace 32" in line
    assert "grace" not in status_line(StatusSnapshot(model="m", backend="hf"), 160)


async def test_a_run_with_an_intervention_a_wrap_up_and_a_grace(hf_engine):
    app = make_app(hf_engine, format="think-tags", max_thinking="8")
    p = app.settings.policy
    p.intervene, p.wrap_up, p.grace = "Hmm@3", "Done.", 2
    async with app.run_test(size=SIZE) as pilot:
        assert "intervene@3 · wrap-up · grace 2" in app.main.status_text
        await ask(pilot)
        await finished(pilot)
        run = app.main.runs[0]
        assert kinds(run)[:4] == [
            ("think_start", "model"),
            ("inject", "policy"),
            ("inject", "policy"),
            ("end_thinking", "budget"),
        ]
        thinking = run.view.thinking.text
        assert "⟪inject · policy: Hmm⟫" in thinking and "⟪inject · policy: Done.⟫" in thinking
        done = len(hf_engine.tokenizer.encode(" Done.", add_special_tokens=False))
        assert run.trace.thinking_tokens == 8 + 2 + done  # the budget, the grace, the wrap-up


def test_the_status_line_names_alphaone():
    assert controls_label([], "", 0, "", 0.5) == "alphaone 0.5"
    assert controls_label([], "", 0, "nowait", 0.25, 0.8) == "nowait · alphaone 0.25 p 0.8"


async def test_a_run_under_method_alphaone(hf_engine):
    """--method alphaone (the preset: alpha 0.5) at budget 20: the model's end at 10, at the
    alpha moment, is the policy's, and the thinking shows it; the status line names it."""
    from dataclasses import replace

    app = make_app(hf_engine, format="s1", max_thinking="20")
    app.settings.policy = replace(app.settings.policy, method="alphaone")
    assert app.settings.policy.alpha == 0.5
    async with app.run_test(size=SIZE) as pilot:
        assert "alphaone 0.5" in app.main.status_text
        await ask(pilot)
        await finished(pilot)
        run = app.main.runs[0]
        assert kinds(run)[:2] == [("think_start", "model"), ("end_thinking", "policy")]
        assert "⟪end of thinking · policy · 10 tokens⟫" in run.view.thinking.text
        assert run.trace.thinking_tokens == 10
