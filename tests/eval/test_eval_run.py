"""`s1 eval` end to end: the runner on the shared vLLM engine, files that agree, resume after a kill.

The scripted model (s1_engine.testing) thinks 10 tokens, then tries to end; after
"Wait" it thinks 5 more; its answer is " xa xb xc". So each policy's thinking tokens
are known exactly: think=3 -> 3; think=12,wait=0 -> 10; think=12,wait=2 -> 12 (cut);
think=auto,wait=0 -> 10; think=auto,wait=2 -> 10 + 2 * 6 = 22.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict

import pytest

from s1_cli.main import main
from s1_engine import BudgetPolicy
from s1_eval.runner import EvalSpec, run_eval
from s1_eval.tasks import load_task

EXPECTED_THINKING = {
    "think=3,wait=0": 3,
    "think=3,wait=2": 3,
    "think=12,wait=0": 10,
    "think=12,wait=2": 12,
    "think=auto,wait=0": 10,
    "think=auto,wait=2": 22,
}


def make_task(path, n):
    rows = []
    for i in range(n):
        row = {"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)}
        if i == n - 1:  # one multiple-choice row: graded by letter
            row.update(question="Which letter?", options=["xa", "yb"], answer="A")
        rows.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def grid(budgets=(3, 12, "auto"), ignores=(0, 2), temperature=0.0):
    from s1_engine.policy import SamplingConfig

    s = SamplingConfig(temperature=temperature, seed=0)
    return [
        BudgetPolicy(max_thinking_tokens=b, num_ignore=k, thinking=s, answer=s)
        for b in budgets
        for k in ignores
    ]


def recompute(lines):
    """Per-policy numbers from samples.jsonl, independently of s1_eval.metrics."""
    by = defaultdict(list)
    for r in lines:
        by[r["policy"]].append(r)
    out = {}
    for pol, rs in by.items():
        votes = defaultdict(list)
        for r in sorted(rs, key=lambda r: r["sample"]):
            votes[r["id"]].append(r)
        maj = []
        for qrs in votes.values():
            c = Counter(r["extracted"] for r in qrs if r["extracted"])
            top = c.most_common(1)[0][0] if c else None
            maj.append(top is not None and any(r["correct"] for r in qrs if r["extracted"] == top))
        out[pol] = {
            "runs": len(rs),
            "accuracy": 100 * sum(r["correct"] for r in rs) / len(rs),
            "majority_accuracy": 100 * sum(maj) / len(maj),
            "mean_thinking_tokens": sum(r["thinking_tokens"] for r in rs) / len(rs),
            "control": 100 * sum(r["thinking_tokens"] <= r["budget"] for r in rs) / len(rs),
        }
    return out


def read_lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_one_run_with_several_budgets_gives_files_that_agree(vllm_engine, tmp_path):
    items = load_task(str(make_task(tmp_path / "task.jsonl", 4)))
    spec = EvalSpec("task", items, grid(), samples=2)
    out = tmp_path / "run"
    t = time.perf_counter()
    summary = run_eval(vllm_engine, spec, out)
    wall = time.perf_counter() - t
    lines = read_lines(out / "samples.jsonl")
    assert len(lines) == 4 * 6 * 2 == summary["runs"] == summary["requests"]
    assert len({r["key"] for r in lines}) == len(lines)
    for r in lines:
        assert r["thinking_tokens"] == EXPECTED_THINKING[r["policy"]]
        assert r["answer"].endswith("xa xb xc") and r["finish_reason"] == "stop"
        assert r["waits"] == sum(e["kind"] == "wait" for e in r["events"])
    assert {r["kind"] for r in lines} == {"math", "choice"}
    # requests ran concurrently: their own times add up to far more than the wall time
    assert sum(r["seconds"] for r in lines) > 3 * wall

    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    mine = recompute(lines)
    assert [p["policy"] for p in on_disk["policies"]] == list(EXPECTED_THINKING)
    for p in on_disk["policies"]:
        for k, v in mine[p["policy"]].items():
            assert p[k] == pytest.approx(v), (p["policy"], k)
    # the plotted curves are the per-policy numbers
    bf = on_disk["methods"]["budget_forcing"]["points"]
    assert [(q["policy"], q["thinking_tokens"]) for q in bf] == [
        ("think=3,wait=0", 3),
        ("think=12,wait=0", 10),
        ("think=auto,wait=0", 10),
    ]
    wc = on_disk["methods"]["wait_count"]["points"]
    assert [(q["policy"], q["thinking_tokens"]) for q in wc] == [
        ("think=auto,wait=0", 10),
        ("think=auto,wait=2", 22),
    ]
    mv = on_disk["methods"]["majority_voting"]["points"]
    assert [(q["votes"], q["thinking_tokens"]) for q in mv] == [(1, 10), (2, 20)]
    for m in on_disk["methods"].values():
        assert m["control"] == 100.0
        assert m["performance"] == max(q["accuracy"] for q in m["points"])
    png = (out / "scaling.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000

    # a second call finds everything done: nothing rerun, nothing appended
    before = (out / "samples.jsonl").read_bytes()
    again = run_eval(vllm_engine, spec, out)
    assert (out / "samples.jsonl").read_bytes() == before
    assert again["policies"] == summary["policies"]


def test_the_synthetic_task_of_s1_data(vllm_engine, tmp_path):
    import s1_data  # noqa: F401  (registers "synthetic")

    items = load_task("synthetic", limit=3)
    spec = EvalSpec("synthetic", items, grid(budgets=(4, "auto"), ignores=(0, 1)), instruction="")
    summary = run_eval(vllm_engine, spec, tmp_path / "syn")
    lines = read_lines(tmp_path / "syn" / "samples.jsonl")
    assert len(lines) == 3 * 4 == summary["runs"]
    assert lines[0]["prompt"] == items[0].question  # bare question: instruction ""
    assert {p["policy"]: p["mean_thinking_tokens"] for p in summary["policies"]} == {
        "think=4,wait=0": 4,
        "think=4,wait=1": 4,
        "think=auto,wait=0": 10,
        "think=auto,wait=1": 16,
    }


def test_a_killed_run_resumes_with_the_same_totals_and_no_duplicate(
    hf_engine, tiny_model, tmp_path, capsys
):
    task = make_task(tmp_path / "task.jsonl", 10)
    out = tmp_path / "killed"
    args = [
        "eval",
        "--task",
        str(task),
        "--out",
        str(out),
        "-m",
        str(tiny_model),
        "--backend",
        "hf",
        "--max-thinking",
        "3,12,auto",
        "--num-ignore",
        "0,2",
        "--samples",
        "2",
        "--no-progress",
    ]
    total = 10 * 6 * 2
    proc = subprocess.Popen(
        [sys.executable, "-m", "s1_cli.main", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    samples = out / "samples.jsonl"
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if samples.exists() and samples.read_bytes().count(b"\n") >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    written = samples.read_bytes().count(b"\n")
    assert 3 <= written < total  # killed half way

    code = main(args)
    assert code == 0, capsys.readouterr().err
    lines = read_lines(samples)
    keys = [r["key"] for r in lines]
    assert len(keys) == len(set(keys)) == total

    # the same totals as one uninterrupted run
    ref = run_eval(
        hf_engine,
        EvalSpec(str(task), load_task(str(task)), grid(), samples=2),
        tmp_path / "ref",
    )
    resumed = json.loads((out / "summary.json").read_text())
    assert resumed["runs"] == ref["runs"] == total
    assert resumed["policies"] == json.loads(json.dumps(ref["policies"]))
    assert "think=auto,wait=2" in capsys.readouterr().out  # the printed table


def test_the_embedded_default_model_on_its_synthetic_task(capsys, tmp_path):
    """`s1 eval` with no --model: the shipped tiny-s1 model on the held-out synthetic split;
    summary.json, samples.jsonl and scaling.png agree."""
    out = tmp_path / "default"
    code = main(
        [
            "eval",
            "--task",
            "synthetic",
            "--out",
            str(out),
            "--limit",
            "6",
            "--backend",
            "hf",
            "--max-thinking",
            "8,32,auto",
            "--num-ignore",
            "0",
            "--answer-max-tokens",
            "24",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    lines = read_lines(out / "samples.jsonl")
    assert len(lines) == 6 * 3 and len({r["key"] for r in lines}) == 18
    summary = json.loads((out / "summary.json").read_text())
    assert "tiny-s1" in json.dumps(summary)  # the run names the embedded model
    mine = recompute(lines)
    for p in summary["policies"]:
        for k, v in mine[p["policy"]].items():
            assert p[k] == pytest.approx(v), (p["policy"], k)
    by = {p["policy"]: p for p in summary["policies"]}
    assert by["think=8,wait=0"]["mean_thinking_tokens"] <= 8
    assert by["think=32,wait=0"]["mean_thinking_tokens"] <= 32
    assert by["think=auto,wait=0"]["mean_thinking_tokens"] > 32  # it thinks longer when let
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
