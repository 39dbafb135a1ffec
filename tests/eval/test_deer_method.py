"""`s1 eval --method deer`: the budget grid with DEER on, on the scripted model (10 thinking
tokens, then 5 after each "Wait"; a trial answer of 4 tokens, each of probability ~1): its
records count the probes, and its compute holds their tokens too."""

from __future__ import annotations

import json

import pytest

from s1_engine import S1Error
from s1_engine.settings import PolicyOptions
from s1_eval.runner import EvalSpec, run_eval
from s1_eval.settings import MethodOptions
from s1_eval.tasks import TaskItem

ITEMS = [TaskItem(f"q{i}", f"What is {i} + 1?", str(i + 1)) for i in range(2)]


def spec(methods: str, deer: float | None = None) -> EvalSpec:
    pol = PolicyOptions(max_thinking="40", num_ignore="0,2", deer=deer)
    opts = MethodOptions(method=[methods])
    wanted, policies, points = opts.build(pol)
    return EvalSpec("t", ITEMS, policies, 1, instruction="", points=points, methods=wanted)


def test_the_deer_method_runs_the_grid_with_probes_in_its_compute(hf_engine, tmp_path):
    out = tmp_path / "run"
    summary = run_eval(hf_engine, spec("budget,deer"), out)
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines() if x]
    by = {(r["method"], r["num_ignore"]): r for r in recs if r["id"] == "q0"}
    assert len(recs) == 2 * 4
    # no "Wait" to force and none the model writes: no probe, the budget point's tokens
    assert by[("deer", 0)]["thinking_tokens"] == by[("budget", 0)]["thinking_tokens"] == 10
    assert "probes" not in by[("deer", 0)] and "probes" not in by[("budget", 2)]
    assert by[("budget", 2)]["thinking_tokens"] == 22  # two Waits
    deer = by[("deer", 2)]  # a confident trial answer at the first end: thinking ends there
    assert (deer["thinking_tokens"], deer["probes"], deer["probe_tokens"]) == (10, 1, 4)
    assert deer["condition"] == "0.95" and deer["policy"].startswith("deer(0.95),")
    assert deer["compute_thinking_tokens"] == 14
    assert deer["compute_tokens"] == 10 + deer["answer_tokens"] + 4
    curve = summary["methods"]["deer"]
    assert [p["compute_tokens"] for p in curve["points"]] == [10, 14]
    assert [p["thinking_tokens"] for p in curve["points"]] == [10, 10]
    stats = {s["policy"]: s for s in summary["policies"]}
    assert stats[deer["policy"]]["mean_probe_tokens"] == 4


def test_deer_takes_its_threshold_from_the_flag_and_leaves_budget_points_alone():
    _, _, points = MethodOptions(method=["budget,deer"]).build(
        PolicyOptions(max_thinking="40", num_ignore="1", deer=0.5)
    )
    assert [(p.method, p.policy.deer_threshold) for p in points] == [
        ("budget", None),
        ("deer", 0.5),
    ]
    with pytest.raises(S1Error, match="unknown method 'dear'"):
        MethodOptions(method=["dear"]).build(PolicyOptions())
