"""Ctrl-C on real commands in real child processes: exit 130, one line, nothing
half-written, and the same command again resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s1_cli.main import INTERRUPTED


def ctrl_c_reaches_it() -> None:
    """In the child: Ctrl-C (SIGINT) acts, even when this suite runs in the background
    (a shell starts background jobs with SIGINT ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


NOISE = ("Traceback", "Task was destroyed", "terminate called", "RuntimeError")


@pytest.fixture()
def start(tmp_path: Path):
    """Start `s1 ...` in a child process; a failed test kills what it started (an eval left
    running would slow every later test)."""
    started: list[subprocess.Popen] = []

    def run(argv: list[str]) -> subprocess.Popen:
        env = dict(os.environ, S1_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
        p = subprocess.Popen(
            [sys.executable, "-m", "s1_cli.main", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env | {"PYTHONUNBUFFERED": "1"},
            cwd=tmp_path,
            preexec_fn=ctrl_c_reaches_it,
        )
        started.append(p)
        return p

    yield run
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait(30)


def wait_until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def interrupt(p: subprocess.Popen) -> tuple[int, str]:
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    return p.returncode, err


def assert_clean_interrupt(code: int, err: str) -> None:
    assert code == 130, err[-3000:]
    assert INTERRUPTED in err, err[-3000:]
    for n in NOISE:
        assert n not in err, err[-3000:]


@pytest.fixture()
def tiny_train_data(tmp_path: Path) -> Path:
    from s1_data.synthetic import make_sft_rows, make_tasks

    rows = make_sft_rows(make_tasks(64, seed=5, kinds=["subtract"], max_steps=3), seed=5)
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def lines_of(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]  # every line whole


def test_eval_interrupted_exits_130_and_resumes_without_duplicates(tmp_path, start):
    out = tmp_path / "o"
    # transformers steps every request a token at a time: the budget-8 ones finish first
    argv = ["eval", "--task", "synthetic", "--limit", "30", "--out", str(out), "--backend", "hf"]
    argv += ["--max-thinking", "8,auto", "--num-ignore", "0,1", "--no-progress"]
    p = start(argv)
    samples = out / "samples.jsonl"
    wait_until(lambda: samples.exists() and samples.stat().st_size > 0, 240, "the first results")
    code, err = interrupt(p)
    assert_clean_interrupt(code, err)
    kept = lines_of(samples)
    assert 0 < len(kept) < 120
    again = subprocess.run(
        [sys.executable, "-m", "s1_cli.main", *argv],
        capture_output=True,
        text=True,
        env=dict(os.environ, S1_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1"),
        cwd=tmp_path,
        timeout=900,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    done = lines_of(samples)
    keys = [r["key"] for r in done]
    assert len(keys) == len(set(keys)) == 120  # 30 questions x 4 policies, none twice
    assert done[: len(kept)] == kept  # what was written before the interrupt is kept


def test_generate_interrupted_exits_130(tiny_model, start):
    argv = ["generate", "What is 1+2?", "-m", str(tiny_model), "--backend", "hf"]
    argv += ["--format", "think-tags", "--max-thinking", "100000", "--max-model-len", "4096"]
    p = start(argv)
    assert p.stderr is not None
    wait_until(lambda: p.poll() is None and _read_some(p), 120, "thinking on stderr")
    code, err = interrupt(p)
    assert_clean_interrupt(code, err)


def _read_some(p: subprocess.Popen) -> bool:
    import select

    ready, _, _ = select.select([p.stderr], [], [], 0.1)
    return bool(ready) and bool(os.read(p.stderr.fileno(), 4096).strip())  # type: ignore[union-attr]


@pytest.mark.timeout(900)
def test_train_interrupted_exits_130_and_resumes_from_a_whole_checkpoint(
    tmp_path, tiny_train_data, start
):
    out = tmp_path / "sft"
    argv = ["train", str(tiny_train_data), "--output", str(out), "--recipe", "tiny-s1"]
    argv += ["--max-steps", "40", "--save-steps", "2", "--save-total-limit", "3", "--no-progress"]
    p = start(argv)
    wait_until(lambda: any(out.glob("checkpoint-*/trainer_state.json")), 600, "a checkpoint")
    code, err = interrupt(p)
    assert_clean_interrupt(code, err)
    assert not (out / "s1_train_report.json").exists()
    again = start(argv)
    _, err = again.communicate(timeout=900)
    assert again.returncode == 0, err[-3000:]
    report = json.loads((out / "s1_train_report.json").read_text())
    assert report["resumed_from"] and report["global_steps"] == 40
    steps = [r["step"] for r in lines_of(out / "loss_log.jsonl")]
    assert steps == sorted(set(steps))  # no step logged twice across the resume


def test_curate_interrupted_exits_130_and_resumes_its_model_calls(tmp_path, start):
    out = tmp_path / "cur"
    argv = ["curate", "difficulty", "--pool", "synthetic:96:3", "--out", str(out)]
    argv += ["--backend", "hf", "--batch-size", "8", "--ref-max-thinking", "24"]
    argv += ["--answer-max-tokens", "8", "--quiet"]
    p = start(argv)
    calls = out / "stages" / "04_difficulty.calls.jsonl"
    # the first line is the fingerprint; then one line a model call, a batch at a time
    wait_until(lambda: calls.exists() and len(calls.read_text().splitlines()) > 8, 300, "calls")
    code, err = interrupt(p)
    assert_clean_interrupt(code, err)
    kept = lines_of(calls)
    assert 8 < len(kept) < 97 and not (out / "report.json").exists()
    again = start(argv)
    _, err = again.communicate(timeout=900)
    assert again.returncode == 0, err[-3000:]
    done = lines_of(calls)
    keys = [r["key"] for r in done[1:]]
    assert len(keys) == len(set(keys))  # no question asked twice across the resume
    assert done[: len(kept)] == kept  # what was written before the interrupt is kept
    report = json.loads((out / "report.json").read_text())
    assert report["stages"][-1]["name"] == "difficulty"
