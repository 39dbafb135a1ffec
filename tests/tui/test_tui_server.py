"""`s1 tui --server URL`: the console steers a request on a running `s1 serve` (the engine
on a GPU node, the console on a laptop): same keys, same panes, same history."""

from __future__ import annotations

from s1_tui.settings import TuiOptions, load_settings

from .conftest import SIZE, ask, finished, kinds, until

KEY = "tui-key"


def server_app(url: str, **policy):
    from s1_engine.settings import EngineOptions, PolicyOptions
    from s1_tui.app import S1App

    settings = load_settings(
        EngineOptions(format="think-tags"),
        PolicyOptions(answer_max_tokens=16, **policy),
        TuiOptions(server=url, api_key=KEY),
    )
    return S1App(settings)


async def test_the_console_steers_a_request_on_s1_serve(vllm_engine, private_dirs):
    from s1_serve import ServeConfig, ServerThread, create_app

    server = ServerThread(create_app(vllm_engine, ServeConfig(api_key=KEY))).start()
    try:
        app = server_app(server.url, max_thinking="3000")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.engine_state == "ready", 60, "the server")
            assert "vllm" in app.main.status_text  # the server's backend, not a local one
            # e: the thinking ends now, on the server
            await ask(pilot)
            await until(pilot, lambda: app.main.runs[0].trace.thinking_tokens >= 12, 60)
            await pilot.press("e")
            await finished(pilot)
            first = app.main.runs[0]
            assert ("end_thinking", "user") in kinds(first), kinds(first)
            assert "⟪end of thinking · user ·" in first.view.thinking.text
            assert "Final Answer: xa xb xc" in first.view.answer.text
            # w: a Wait now; the scripted model writes w000..w004, then ends by itself
            await ask(pilot)
            await until(pilot, lambda: app.main.runs and app.main.runs[0] is not first, 10)
            await until(pilot, lambda: app.main.runs[0].trace.thinking_tokens >= 12, 60)
            await pilot.press("w")
            await finished(pilot)
            run = app.main.runs[0]
            ev = kinds(run)
            assert ev.index(("wait", "user")) < ev.index(("end_thinking", "model")), ev
            assert "`⟪Wait · user⟫`" in run.view.thinking.text
            assert "w000" in run.view.thinking.text
            assert "xa xb xc" in run.view.answer.text
            # the status keeps the model · backend before the causes on a narrow line
            assert "Wait 1" in app.main.status_text and run.trace.counts.waits == {"user": 1}
        history = (private_dirs / "history.jsonl").read_text().splitlines()
        assert len(history) == 2 and all('"user"' in h for h in history)
    finally:
        server.stop()


async def test_a_server_that_is_not_there_is_one_clear_error(private_dirs):
    app = server_app("http://127.0.0.1:9")  # the discard port: nothing listens
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.engine_state == "failed", 30, "the failure")
        assert "cannot reach s1 serve" in app.engine_error.problem
