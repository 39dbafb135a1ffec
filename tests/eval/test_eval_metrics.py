"""The paper's metrics and majority voting on hand-made records."""

from __future__ import annotations

import json

import pytest

from s1_eval.metrics import majority, scaling_slopes, summarize, vote_sizes
from s1_eval.runner import read_samples


def rec(qid, policy, sample, correct, extracted, think, budget, k=0, mt=100):
    return {
        "key": f"{qid}|{policy}|{sample}",
        "id": qid,
        "policy": policy,
        "max_thinking": mt,
        "num_ignore": k,
        "min_thinking": 0,
        "sample": sample,
        "budget": budget,
        "correct": correct,
        "extracted": extracted,
        "thinking_tokens": think,
        "answer_tokens": 3,
        "waits": k,
    }


def test_majority_vote_and_vote_sizes():
    rs = [
        rec("q", "p", i, c, e, 10, 100) for i, (c, e) in enumerate([(0, "1"), (1, "2"), (1, "2")])
    ]
    assert majority(rs) is True
    assert majority(rs[:1]) is False
    assert majority([rec("q", "p", 0, 0, "", 1, 10)]) is False  # nothing extracted: no vote
    assert vote_sizes(1) == [1] and vote_sizes(4) == [1, 2, 4] and vote_sizes(6) == [1, 2, 4, 6]


def test_scaling_is_the_average_slope_over_pairs():
    lin, log = scaling_slopes([(1000, 10.0), (2000, 30.0), (4000, 40.0)])
    # slopes per 1k tokens: (30-10)/1, (40-10)/3, (40-30)/2 -> mean
    assert lin == pytest.approx((20 + 10 + 5) / 3)
    # per doubling: 20/1, 30/2, 10/1
    assert log == pytest.approx((20 + 15 + 10) / 3)
    assert scaling_slopes([(5, 1.0)]) == (None, None)


def test_summary_methods_and_control():
    rs = []
    for q in ("a", "b"):
        rs.append(rec(q, "think=10,wait=0", 0, q == "a", "x", 10, 10, 0, 10))
        rs.append(rec(q, "think=auto,wait=0", 0, True, "x", 20, 50, 0, "auto"))
        rs.append(rec(q, "think=auto,wait=1", 0, True, "x", 60, 50, 1, "auto"))  # over budget
    s = summarize(rs)
    pol = {p["policy"]: p for p in s["policies"]}
    assert pol["think=10,wait=0"]["accuracy"] == 50.0
    assert pol["think=auto,wait=1"]["control"] == 0.0
    bf = s["methods"]["budget_forcing"]
    assert [p["policy"] for p in bf["points"]] == ["think=10,wait=0", "think=auto,wait=0"]
    assert bf["performance"] == 100.0 and bf["control"] == 100.0
    assert bf["scaling"] == pytest.approx(50.0 / 10 * 1000)
    wc = s["methods"]["wait_count"]
    assert [p["policy"] for p in wc["points"]] == ["think=auto,wait=0", "think=auto,wait=1"]
    assert wc["control"] == 50.0


def test_a_partial_last_line_is_dropped_and_repaired(tmp_path):
    path = tmp_path / "samples.jsonl"
    good = json.dumps({"key": "k1", "x": 1})
    path.write_text(good + "\n" + good + "\n" + '{"key": "k2", "x"')
    recs = read_samples(path, repair=True)
    assert list(recs) == ["k1"]
    assert path.read_text() == good + "\n"  # rewritten whole: one line a key, the first
