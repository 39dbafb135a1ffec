"""Synthetic tasks, s1 formatting, recipes and dataset errors (no training here)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from s1_data.synthetic import (
    HELD_OUT_KINDS,
    HELD_OUT_SEED,
    KINDS,
    can_pause,
    extract_answer,
    held_out_tasks,
    make_sft_rows,
    make_tasks,
    make_trace,
    verify,
)
from s1_engine.errors import S1Error
from s1_engine.formats import S1
from s1_train.formatting import Columns, completion_text, to_prompt_completion
from s1_train.train import TrainConfig, resolve_config


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ----- synthetic tasks -----------------------------------------------------------------
def test_tasks_are_seeded_and_verified() -> None:
    a, b = make_tasks(40, seed=3), make_tasks(40, seed=3)
    assert a == b and a != make_tasks(40, seed=4)
    rng = random.Random(0)
    for t in a:
        thinking, attempt = make_trace(t, rng)
        assert verify(attempt, t), (t, attempt)
        assert not verify(f"Final Answer: {int(t.answer) + 1}", t)
    assert {t.kind for t in a} == set(KINDS)


def test_steps_grow_with_the_instance() -> None:
    rng = random.Random(0)
    short = make_tasks(8, seed=1, kinds=["count"], min_steps=2, max_steps=2, two_part=0)
    long = make_tasks(8, seed=1, kinds=["count"], min_steps=10, max_steps=10, two_part=0)
    n_short = [make_trace(t, rng, "plain")[0].count("\n") for t in short]
    n_long = [make_trace(t, rng, "plain")[0].count("\n") for t in long]
    assert max(n_short) < min(n_long)
    assert all(t.steps == 10 for t in long)


def test_trace_styles_wait_resume_and_fix() -> None:
    rng = random.Random(1)
    two = next(t for t in make_tasks(50, seed=2, kinds=["sum"], min_steps=6) if t.extra)
    resume, attempt = make_trace(two, rng, "resume")
    assert (
        "So the answer is" in resume.split("Wait")[0] and "\nWait, there is a second part" in resume
    )
    assert verify(attempt, two)
    _, hasty_attempt = make_trace(two, rng, "hasty")
    partial = sum(two.items)
    assert hasty_attempt == f"Final Answer: {partial}"  # stops after the first part
    task = make_tasks(1, seed=9, kinds=["max"], min_steps=5, two_part=0)[0]
    fixed, attempt = make_trace(task, rng, "fix")
    assert "is wrong." in fixed and verify(attempt, task)
    checked, _ = make_trace(task, rng, "check")
    assert "\nWait, check:" in checked


def test_held_out_split_is_fixed_and_disjoint() -> None:
    from s1_train.recipes.tiny_s1 import make_rows

    held = held_out_tasks()
    assert held == held_out_tasks() and len(held) == 200
    assert len({t.question for t in held}) == 200  # distinct questions
    assert {t.kind for t in held} == set(HELD_OUT_KINDS)
    assert HELD_OUT_SEED != 1
    # the same generator makes training tasks: the tiny-s1 recipe drops every held-out
    # question from them (and there are some to drop: the check can fail)
    train = make_tasks(3000, seed=1, kinds=HELD_OUT_KINDS, min_steps=1)
    assert {t.question for t in held} & {t.question for t in train}
    rows = make_rows(3000, seed=1)
    assert not {t.question for t in held} & {r["question"] for r in rows}
    assert 0 < len(rows) < 3000


def test_local_kinds_step_by_step() -> None:
    """subtract / quotient / gcd: exact lines, and the answer is the last line's number."""
    rng = random.Random(0)
    sub = make_tasks(1, seed=0, kinds=["subtract"])[0]
    n, k = sub.items
    lines = make_trace(sub, rng, "plain")[0].splitlines()
    assert lines[0] == f"{n}-{k}={n - k}" and len(lines) == n // k + 1
    assert int(extract_answer(lines[-2])) == n % k == int(sub.answer)
    quo = next(
        t for t in make_tasks(40, seed=1, kinds=["quotient"]) if t.items[0] // t.items[1] > 2
    )
    n, k = quo.items
    lines = make_trace(quo, rng, "plain")[0].splitlines()
    assert lines[:2] == [f"{n}-{k}={n - k} count 1", f"{n - k}-{k}={n - 2 * k} count 2"]
    assert int(extract_answer(lines[-2])) == n // k == int(quo.answer)
    gcd = make_tasks(1, seed=2, kinds=["gcd"], min_steps=6, max_steps=6)[0]
    a, b = gcd.items
    lines = make_trace(gcd, rng, "plain")[0].splitlines()
    assert lines[0] == f"{max(a, b)}-{min(a, b)}={abs(a - b)}"
    assert len(lines) - 1 == gcd.steps == 6 and int(extract_answer(lines[-2])) == int(gcd.answer)
    from math import gcd as euclid

    assert int(gcd.answer) == euclid(a, b)


def test_premature_stop_and_wait_resume() -> None:
    """k = 3: a trace can conclude at the first result below 10, too early; "resume"
    goes on after "Wait, 7 is not less than 3", "hasty" stops there with a wrong answer."""
    rng = random.Random(0)
    tasks = make_tasks(300, seed=4, kinds=["subtract", "quotient"])
    pausing = [t for t in tasks if can_pause(t)]
    assert pausing and all(t.items[1] == 3 for t in pausing)
    assert not can_pause(make_tasks(1, seed=0, kinds=["gcd"])[0])
    t = next(t for t in pausing if t.kind == "subtract" and t.items[0] > 20)
    n, k = t.items
    first_below_10 = next(v for v in range(n - k, -1, -k) if v < 10)
    hasty, attempt = make_trace(t, rng, "hasty")
    assert attempt == f"Final Answer: {first_below_10}" and not verify(attempt, t)
    assert hasty.endswith(f"So the answer is {first_below_10}.") and "Wait" not in hasty
    resume, attempt = make_trace(t, rng, "resume")
    assert (
        f"So the answer is {first_below_10}.\nWait, {first_below_10} is not less than 3.\n"
        in resume
    )
    assert verify(attempt, t)
    rows = make_sft_rows(pausing, seed=0, hasty=1.0)
    assert all(not verify(r["attempt"], t) for r, t in zip(rows, pausing))
    held = held_out_tasks()
    assert 0.05 < sum(map(can_pause, held)) / len(held) < 0.15  # what "Wait" can repair


def test_registered_as_eval_task() -> None:
    import s1_data  # noqa: F401  (registers on import)
    from s1_eval import tasks

    items = tasks.load_task("synthetic")
    assert len(items) == 200 and items[0].answer == held_out_tasks()[0].answer


# ----- formatting ----------------------------------------------------------------------
def test_s1k_columns_and_thinking_forms() -> None:
    row = {"question": "Q?", "thinking_trajectories": ["step 1", "step 2"], "attempt": "42"}
    pc = to_prompt_completion(row, Columns(list(row)))
    assert pc["prompt"].endswith("<|im_start|>assistant\n") and "Q?" in pc["prompt"]
    assert pc["completion"] == (
        f"{S1.think_start}\nstep 1\nstep 2\n{S1.think_end}\n42{S1.end_of_turn[0]}"
    )
    r11 = {"question": "Q", "deepseek_thinking_trajectory": "t", "deepseek_attempt": "a"}
    cols = Columns(list(r11))
    assert (cols.thinking, cols.attempt) == ("deepseek_thinking_trajectory", "deepseek_attempt")
    sol = Columns(["question", "thinking_trajectories", "solution"])
    assert sol.attempt == "solution"


def test_formatted_text_is_split_at_the_assistant_turn() -> None:
    text = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n" + completion_text("t", "a")
    pc = to_prompt_completion({"text": text}, Columns(["text"]))
    assert pc["prompt"] + pc["completion"] == text
    assert pc["completion"].startswith(S1.think_start)


def test_missing_columns_are_named() -> None:
    with pytest.raises(S1Error) as e:
        Columns(["question", "answer_text"])
    msg = str(e.value)
    assert "thinking_trajectories" in msg and "attempt" in msg and "answer_text" in msg
    assert "\n" not in msg


# ----- recipes ------------------------------------------------------------------------
def test_defaults_are_the_s1_recipe() -> None:
    c = TrainConfig()
    assert (c.learning_rate, c.epochs, c.lr_scheduler, c.warmup_ratio) == (1e-5, 5, "cosine", 0.05)
    assert (c.adam_beta1, c.adam_beta2, c.weight_decay, c.block_size, c.batch_size) == (
        0.9,
        0.95,
        1e-4,
        32768,
        16,
    )


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_recipe_file_then_flags(tmp_path: Path, suffix: str) -> None:
    f = tmp_path / f"r{suffix}"
    if suffix == ".yaml":
        f.write_text("learning_rate: 0.001\nepochs: 2\nblock-size: 512\n")
    else:
        f.write_text("learning_rate = 0.001\nepochs = 2\nblock-size = 512\n")
    c = resolve_config(str(f), {"epochs": 3.0})
    assert (c.learning_rate, c.epochs, c.block_size, c.adam_beta2) == (0.001, 3.0, 512, 0.95)
    assert resolve_config("tiny-s1").learning_rate > 1e-4  # a shipped recipe by name
    f.write_text("learnin_rate: 1\n" if suffix == ".yaml" else "learnin_rate = 1\n")
    with pytest.raises(S1Error, match="learnin_rate"):
        resolve_config(str(f))


def test_fsdp_config_wraps_qwen2_layers() -> None:
    import yaml

    from s1_train.train import CONFIGS_DIR

    cfg = yaml.safe_load((CONFIGS_DIR / "fsdp_qwen2.yaml").read_text())
    assert cfg["distributed_type"] == "FSDP"
    assert cfg["fsdp_config"]["fsdp_transformer_layer_cls_to_wrap"] == "Qwen2DecoderLayer"


# ----- bad datasets through the command -------------------------------------------------
def _s1(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    from s1_cli.main import main

    code = main(argv)
    return code, capsys.readouterr().err


def test_bad_datasets_give_one_line_errors(
    tmp_path: Path, tiny_random_model: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"question": "q", "response": "r"}])
    code, err = _s1(
        ["train", str(bad), "-m", str(tiny_random_model), "-o", str(tmp_path / "o")], capsys
    )
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: ") and "thinking_trajectories" in line and "attempt" in line
    code, err = _s1(["train", str(tmp_path / "nope.jsonl"), "-m", str(tiny_random_model)], capsys)
    assert code == 2 and "no dataset at" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, err = _s1(["train", str(empty), "-m", str(tiny_random_model)], capsys)
    assert code == 2 and err.startswith("error: ")
    odd = tmp_path / "data.txt"
    odd.write_text("x")
    code, err = _s1(["train", str(odd), "-m", str(tiny_random_model)], capsys)
    assert code == 2 and "unknown file type" in err


def test_overlong_rows_are_dropped_or_truncated_and_counted(
    tmp_path: Path, tiny_random_model: Path
) -> None:
    from s1_engine.engine import load_tokenizer
    from s1_train.train import prepare

    rows = [
        {"question": "q", "thinking_trajectories": ["short"], "attempt": "1"},
        {"question": "q", "thinking_trajectories": [" w000" * 300], "attempt": "2"},
        {"question": "q", "thinking_trajectories": [""], "attempt": "3"},
    ]
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    tok = load_tokenizer(str(tiny_random_model))
    base = TrainConfig(dataset=str(path), block_size=64)
    dropped = prepare(base, tok)
    assert (len(dropped.dataset), dropped.dropped_long, dropped.unusable) == (1, 1, 1)
    kept = prepare(base.with_overrides({"overlong": "truncate"}), tok)
    assert (len(kept.dataset), kept.truncated_long, kept.dropped_long) == (2, 1, 0)
    assert json.dumps(kept.columns)


def test_parquet_and_saved_folders_load(tmp_path: Path, tiny_random_model: Path) -> None:
    import datasets

    from s1_engine.engine import load_tokenizer
    from s1_train.train import prepare

    rows = make_sft_rows(make_tasks(6, seed=2, kinds=["sum"], max_steps=3), seed=2)
    ds = datasets.Dataset.from_list(rows)
    ds.to_parquet(str(tmp_path / "d.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "saved_dict"))
    text = datasets.Dataset.from_list(
        [{"text": "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" + "x"}]
    )
    text.save_to_disk(str(tmp_path / "text"))
    tok = load_tokenizer(str(tiny_random_model))
    for src, n in (("d.parquet", 6), ("saved", 6), ("saved_dict", 6), ("text", 1)):
        data = prepare(TrainConfig(dataset=str(tmp_path / src)), tok)
        assert len(data.dataset) == n, src
