"""Real `s1 train` runs on a tiny model made on the spot: label mask, loss, checkpoints, engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from s1_engine.formats import S1
from s1_train.train import TrainConfig


def test_label_mask_is_the_assistant_turn_token_by_token(
    tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path
) -> None:
    from s1_engine.engine import load_tokenizer
    from s1_train.formatting import prompt_text
    from s1_train.train import build_trainer

    config = TrainConfig(
        dataset=str(synthetic_jsonl), model=str(tiny_random_model), output_dir=str(tmp_path)
    )
    trainer, data, _ = build_trainer(config)
    tok = load_tokenizer(str(tiny_random_model))
    row = json.loads(synthetic_jsonl.read_text().splitlines()[0])
    ex = trainer.train_dataset
    # find the prepared example of this row (the trainer may shuffle)
    prompt = prompt_text(row["question"], tok)
    completion = (
        f"{S1.think_start}\n{row['thinking_trajectories'][0]}\n{S1.think_end}\n"
        f"{row['attempt']}<|im_end|>"
    )
    want = tok(prompt + completion, add_special_tokens=False)["input_ids"]
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    match = [e for e in ex if e["input_ids"] == want]
    assert match, "the formatted example is not in the training set"
    labels = match[0]["labels"]
    assert len(labels) == len(want)
    for i, (t, lab) in enumerate(zip(want, labels)):
        if i < n_prompt:  # system/user turn and the assistant header: no loss
            assert lab == -100, (i, tok.decode([t]))
        else:  # thinking + answer + end of turn: loss on every token
            assert lab == t, (i, tok.decode([t]))
    trained = tok.decode([t for t, lab in zip(want, labels) if lab != -100])
    assert trained == completion
    assert tok.decode(want[:n_prompt]).endswith("<|im_start|>assistant\n")


def test_tiny_train_run_loss_goes_down_and_the_engine_loads_it(
    tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from s1_cli.main import main
    from s1_engine import BudgetPolicy, Engine

    out = tmp_path / "run"
    argv = ["train", str(synthetic_jsonl), "-m", str(tiny_random_model), "-o", str(out)]
    argv += [
        "--lr",
        "1e-2",
        "--max-steps",
        "12",
        "--batch-size",
        "8",
        "--per-device-batch-size",
        "8",
    ]
    argv += ["--block-size", "512", "--save-steps", "6", "--warmup-ratio", "0", "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "done: 12 steps" in err
    # rounded lines, never transformers' raw dicts
    assert "{'loss'" not in err and "'grad_norm'" not in err, err
    lines = [x for x in err.splitlines() if x.startswith("step ")]
    assert len(lines) == 12 and lines[0].startswith("step 1/12 · epoch"), lines
    assert re.fullmatch(
        r"step 12/12 · epoch [\d.]+ · loss [\d.]+ · grad norm .+ · lr .+", lines[-1]
    )
    first, last = re.search(r"loss (\S+) -> (\S+),", err).groups()
    assert len(first.replace(".", "").lstrip("0")) <= 4 and len(last.replace(".", "")) <= 5
    report = json.loads((out / "s1_train_report.json").read_text())
    assert report["global_steps"] == 12 and report["effective_batch"] == 8
    log = [json.loads(x) for x in (out / "loss_log.jsonl").read_text().splitlines()]
    losses = [x["loss"] for x in log]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.85 * sum(losses[:3]) / 3, losses
    assert (out / "checkpoint-12").is_dir()

    engine = Engine(str(out), backend="hf")
    try:
        r = engine.generate("Add: 1 2", BudgetPolicy(max_thinking_tokens=16, answer_max_tokens=8))
        assert r.thinking_tokens <= 16 and r.finish_reason in ("stop", "length")
        assert len(r.output_ids) > 0
    finally:
        engine.close()

    # resume: a second run to 16 steps starts from checkpoint-12, not from scratch
    argv2 = [a if a != "12" else "16" for a in argv]
    assert main(argv2) == 0
    report2 = json.loads((out / "s1_train_report.json").read_text())
    assert report2["resumed_from"].endswith("checkpoint-12")
    assert report2["global_steps"] == 16
    assert "resuming from" in capsys.readouterr().err


def test_a_short_run_logs_its_first_and_last_loss(
    tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """5 steps, logging every 20 (the tiny-s1 recipe's): step 1 and step 5 are logged all
    the same, in rounded lines above the progress bar, and the summary names both."""
    from s1_cli.main import main

    out = tmp_path / "short"
    argv = ["train", str(synthetic_jsonl), "-m", str(tiny_random_model), "-o", str(out)]
    argv += ["--max-steps", "5", "--logging-steps", "20", "--batch-size", "4"]
    argv += ["--per-device-batch-size", "4", "--block-size", "512", "--save-steps", "100"]
    assert main(argv) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "{'loss'" not in err and "'train_runtime'" not in err, err
    assert re.search(r"step 1/5 · epoch \S+ · loss \d", err), err
    assert re.search(r"step 5/5 · epoch \S+ · loss \d", err), err
    assert "step 2/5" not in err  # the steps between follow --logging-steps
    assert re.search(r"done: 5 steps, loss \d[\d.e+-]* -> \d[\d.e+-]*, ", err), err
    report = json.loads((out / "s1_train_report.json").read_text())
    assert report["first_loss"] is not None and report["last_loss"] is not None


def test_embedded_default_model_loads_and_reasons() -> None:
    """`Engine()` with no model runs the shipped tiny-s1: it solves short held-out tasks
    step by step, a tiny budget leaves long ones unsolved, and where it stops too early
    a forced "Wait" makes it go on to the right answer.

    (The whole curve is a benchmark: bench/eval/default_model_scaling.md.)
    """
    from s1_data.synthetic import can_pause, held_out_tasks, verify
    from s1_engine import BudgetPolicy, Engine
    from s1_engine.engine import DEFAULT_MODEL_DIR

    assert (DEFAULT_MODEL_DIR / "config.json").exists()
    size = sum(f.stat().st_size for f in DEFAULT_MODEL_DIR.iterdir())
    assert size < 20 * 2**20
    held = held_out_tasks()
    short = [t for t in held if t.steps <= 4 and not can_pause(t)][:4]
    long = [t for t in held if t.steps >= 9 and not can_pause(t)][:4]
    pausing = [t for t in held if can_pause(t)][:4]
    with Engine(backend="hf") as engine:
        assert engine.format.name == "s1"

        def run(tasks: list, budget: int | str, waits: int = 0) -> list:
            policy = BudgetPolicy(
                max_thinking_tokens=budget, num_ignore=waits, answer_max_tokens=12
            )
            return engine.generate_many([t.question for t in tasks], policy)

        solved = run(short, "auto")
        capped = run(long, 8)
        stopped, waited = run(pausing, "auto"), run(pausing, "auto", waits=1)
    for t, r in zip(short, solved):
        assert "=" in r.thinking and verify(r.answer, t), (t.question, r.thinking, r.answer)
        assert r.thinking.count("\n") >= t.steps  # a line a step, then the conclusion
    assert all(r.thinking_tokens <= 8 for r in capped)
    assert sum(verify(r.answer, t) for t, r in zip(long, capped)) <= 1
    right_alone = sum(verify(r.answer, t) for t, r in zip(pausing, stopped))
    right_waited = sum(verify(r.answer, t) for t, r in zip(pausing, waited))
    assert right_waited >= 3 and right_waited > right_alone, (right_alone, right_waited)
    assert all(r.count("wait") == 1 for r in waited)


def test_fsdp_launch_on_two_cpu_processes(
    tiny_random_model: Path, synthetic_jsonl: Path, tmp_path: Path
) -> None:
    """The shipped FSDP config through `accelerate launch`: 2 CPU processes over gloo.

    On CPUs accelerate runs the processes as MULTI_CPU (data parallel over gloo) and
    leaves FSDP sharding to GPUs: this checks the launch path, the world size, the
    effective batch and the saved model, not the sharding itself.
    """
    import os
    import shutil
    import subprocess
    import sys

    import yaml

    from s1_train.train import CONFIGS_DIR

    launcher = shutil.which("accelerate") or str(Path(sys.executable).with_name("accelerate"))
    cfg = yaml.safe_load((CONFIGS_DIR / "fsdp_qwen2.yaml").read_text())
    cfg.update(num_processes=2, mixed_precision="no")
    cfg_file = tmp_path / "cpu_fsdp.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "fsdp"
    cmd = [launcher, "launch", "--config_file", str(cfg_file), "-m", "s1_cli.main", "train"]
    cmd += [str(synthetic_jsonl), "-m", str(tiny_random_model), "-o", str(out), "--max-steps", "3"]
    cmd += ["--lr", "1e-2", "--block-size", "512", "--no-progress", "--save-steps", "3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "s1_train_report.json").read_text())
    assert report["world_size"] == 2
    assert report["distributed_type"] in ("MULTI_CPU", "FSDP")
    assert report["effective_batch"] == 16  # 1 per device x 8 accumulation x 2 processes
    assert proc.stderr.count("done: 3 steps") == 1  # one report line, from rank 0

    from s1_engine import BudgetPolicy, Engine

    with Engine(str(out), backend="hf") as engine:
        r = engine.generate("Add: 1 2", BudgetPolicy(max_thinking_tokens=8, answer_max_tokens=4))
        assert r.thinking_tokens <= 8
