"""The status line and the demo columns' lines: pure functions of a snapshot (no Textual)."""

from __future__ import annotations

from s1_tui.status import RunFigures, StatusSnapshot, column_line, prompt_hint, rate, status_line


def test_idle_status_shows_the_budget_of_the_settings():
    s = StatusSnapshot(model="scripted", backend="hf", idle_budget="3000")
    assert status_line(s) == (
        "scripted · hf │ think 0/3000 │ answer 0 │ – tok/s │ Wait 0 │ end 0 │ ready"
    )


def test_the_engine_status_comes_before_the_runs():
    thinking = RunFigures(thinking_tokens=5)
    loading = StatusSnapshot("m", "vllm", "loading", runs=[thinking])
    failed = StatusSnapshot("m", "vllm", "failed", runs=[thinking])
    assert status_line(loading).endswith("│ loading model…")
    assert status_line(failed).endswith("│ model failed")


def test_one_run_thinking_with_waits_by_cause_and_an_armed_wait():
    r = RunFigures(
        thinking_tokens=6,
        budget=12,
        waits={"user": 1, "budget": 2},
        armed_waits=1,
        active_s=2.0,
    )
    s = StatusSnapshot("m", "hf", runs=[r])
    assert status_line(s) == (
        "m · hf │ think ▕██████░░░░░░▏ 6/12 │ answer 0 │ 3.0 tok/s │ "
        "Wait 3 (budget 2,user 1) │ end 0 │ armed 1 │ thinking"
    )


def test_one_run_done_graded_and_its_rate_counts_only_the_time_it_streamed():
    r = RunFigures(
        thinking_tokens=12,
        answer_tokens=8,
        budget=12,
        ends={"budget": 1},
        correct=False,
        finish_reason="stop",
        done=True,
        thinking_now=False,
        active_s=4.0,
    )
    s = StatusSnapshot("m", "hf", runs=[r])
    assert status_line(s) == (
        "m · hf │ think ▕████████████▏ 12/12 │ answer 8 │ 5.0 tok/s │ Wait 0 │ "
        "end 1 (budget) │ ✘ wrong │ done: stop"
    )


def test_state_answering_error_and_mixed_finish_reasons():
    answering = RunFigures(answer_tokens=2, thinking_now=False)
    assert status_line(StatusSnapshot("m", "hf", runs=[answering])).endswith("│ answering")
    broken = RunFigures(error="RuntimeError: gone", done=True)
    assert status_line(StatusSnapshot("m", "hf", runs=[broken])).endswith("│ error")
    runs = [RunFigures(done=True, finish_reason=f) for f in ("stop", "length", "stop")]
    columns = StatusSnapshot("m", "hf", runs=runs, columns=3)
    assert status_line(columns) == "m · hf │ 3 columns │ – tok/s │ done: length,stop"


def test_rate_needs_two_tokens_and_some_time():
    one = RunFigures(thinking_tokens=1, active_s=1.0)
    assert rate([one]) == "– tok/s"
    frozen = RunFigures(thinking_tokens=9, active_s=0.0, done=True)
    assert rate([frozen]) == "– tok/s"
    assert rate([]) == "– tok/s"
    # columns stream side by side: their rates add up
    both = [RunFigures(thinking_tokens=10, active_s=2.0), RunFigures(answer_tokens=6, active_s=1.0)]
    assert rate(both) == "11.0 tok/s"


def test_the_rate_leaves_out_pauses_and_the_wait_before_a_reopened_run():
    """tok/s is over the time the run streamed: not while the inject box held it, nor
    the minute between its answer and a Wait that reopened it."""
    from s1_tui.fakes import FakeSession
    from s1_tui.run import Run

    run = Run("q", FakeSession())
    for t in (10.0, 10.5, 11.0):  # 3 tokens in 1 s
        run.streamed(t)
    run.idle(11.0)  # the inject box opens ...
    run.streamed(31.0)  # ... and closes 20 s later
    run.streamed(32.0)
    run.idle(32.0)  # the answer; a minute later w reopens it
    for t in (92.0, 93.0):
        run.streamed(t)
    run.trace.state.thinking_tokens = 7
    assert run.active_seconds(93.0) == 3.0
    assert rate([run.figures(93.0)]) == f"{7 / 3:.1f} tok/s"
    assert run.active_seconds(95.0) == 5.0  # still streaming: up to now


def test_a_narrow_status_line_keeps_the_state():
    """At 80 columns the least needed fields go first; what the runs do stays."""
    r = RunFigures(thinking_tokens=123, budget=1024, waits={"user": 2}, ends={"user": 1})
    s = StatusSnapshot("tiny-s1", "vllm @ 127.0.0.1:8000", runs=[r], pace=10)
    wide = status_line(s)
    assert len(wide) > 78 and wide.endswith("│ thinking")
    for width in (78, 60, 40, 12):
        narrow = status_line(s, width)
        assert narrow.endswith("thinking"), narrow
        assert len(narrow) <= max(width, len("thinking")), narrow
    assert "pace 10/s" in status_line(s, 78) and "tiny-s1" in status_line(s, 78)
    assert "123/1024" in status_line(s, 60)  # the budget outlasts the rest
    paused = StatusSnapshot("m", "hf", runs=[r], paused=True)
    assert status_line(paused).endswith("│ paused")


def test_column_line_shows_the_grade_first():
    r = RunFigures(4, 8, 4, ends={"budget": 1}, finish_reason="length", done=True)
    assert column_line(r) == "▕██████▏ 4/4 ans 8 W0 end:budget length"
    graded = RunFigures(thinking_tokens=4, budget=8, correct=True, extracted="3")
    assert column_line(graded) == "✔ 3 │ ▕███░░░▏ 4/8 ans 0 W0 end:–"


def test_the_prompt_offers_a_question_only_to_the_embedded_model():
    from s1_engine.engine import DEFAULT_MODEL_DIR, DEFAULT_MODEL_EXAMPLE

    assert prompt_hint(None).endswith(f"e.g. {DEFAULT_MODEL_EXAMPLE}")
    assert prompt_hint(str(DEFAULT_MODEL_DIR) + "/").endswith(DEFAULT_MODEL_EXAMPLE)
    assert prompt_hint("Qwen/Qwen3-8B") == "Ask a question… (Enter)"
