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
        first_token=1.0,
        last_token=2.5,
    )
    s = StatusSnapshot("m", "hf", runs=[r], now=3.0)
    assert status_line(s) == (
        "m · hf │ think ▕██████░░░░░░▏ 6/12 │ answer 0 │ 3.0 tok/s │ "
        "Wait 3 (budget 2,user 1) │ end 0 │ armed 1 │ thinking"
    )


def test_one_run_done_graded_and_its_rate_ends_at_the_last_token():
    r = RunFigures(
        thinking_tokens=12,
        answer_tokens=8,
        budget=12,
        ends={"budget": 1},
        correct=False,
        finish_reason="stop",
        done=True,
        thinking_now=False,
        first_token=0.0,
        last_token=4.0,
    )
    s = StatusSnapshot("m", "hf", runs=[r], now=100.0)
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
    one = RunFigures(thinking_tokens=1, first_token=0.0, last_token=0.0)
    assert rate([one], now=5.0) == "– tok/s"
    frozen = RunFigures(thinking_tokens=9, first_token=0.0, last_token=0.0, done=True)
    assert rate([frozen], now=5.0) == "– tok/s"
    assert rate([], now=5.0) == "– tok/s"


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
