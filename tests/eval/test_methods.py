"""The test-time methods without a model: their points, the rejection loop on scripted
sessions, shortest-majority voting, and each method's Control / Scaling / Performance on
hand-made records, computed here by hand."""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

import pytest

from s1_engine import BudgetPolicy
from s1_engine.errors import S1Error
from s1_engine.events import Event, Result
from s1_engine.policy import SamplingConfig
from s1_eval.methods import (
    LONG_PROMPT,
    SHORT_PROMPT,
    Point,
    Prompts,
    budget_grid,
    build_points,
    draw_until_fit,
    parse_ignore_grid,
    parse_methods,
    with_condition,
)
from s1_eval.metrics import majority, shortest_majority, summarize

ALL = "budget,token-conditional,token-conditional+bf,step-conditional,step-conditional+bf"
ALL += ",class-conditional,class-conditional+bf,rejection,majority,shortest-majority"


def grid(budgets=(512, 1024, "auto"), ignores=(0, 2)):
    return [BudgetPolicy(max_thinking_tokens=b, num_ignore=k) for b in budgets for k in ignores]


def test_each_method_asks_for_what_it_says():
    points = build_points(parse_methods([ALL]), grid(), steps=(8, 16), draws=5)
    by = {}
    for p in points:
        by.setdefault(p.method, []).append(p)
    assert [p.label() for p in by["budget"]] == [q.label() for q in grid()]  # labels unchanged
    # token-conditional: the prompt states each numeric budget; the engine enforces none
    tc = by["token-conditional"]
    assert [with_condition("Q?", p) for p in tc] == [
        "Q?\n\nThink for up to 512 tokens.",
        "Q?\n\nThink for up to 1024 tokens.",
    ]
    assert {p.policy.max_thinking_tokens for p in tc} == {"auto"}
    assert {p.policy.num_ignore for p in tc} == {0}
    # +bf: the same prompts, the engine cuts at the stated budget
    bf = by["token-conditional+bf"]
    assert [(p.suffix, p.policy.max_thinking_tokens) for p in bf] == [
        ("Think for up to 512 tokens.", 512),
        ("Think for up to 1024 tokens.", 1024),
    ]
    sc, sbf = by["step-conditional"], by["step-conditional+bf"]
    assert [p.suffix for p in sc] == ["Think for up to 8 steps.", "Think for up to 16 steps."]
    assert [p.stated_steps for p in sc] == [8, 16] and {p.stop for p in sc} == {""}
    assert {p.stop for p in sbf} == {"\n0 steps left"}
    assert {p.policy.max_thinking_tokens for p in sc + sbf} == {"auto"}
    assert [p.suffix for p in by["class-conditional"]] == [SHORT_PROMPT, LONG_PROMPT]
    cbf = by["class-conditional+bf"]
    assert [(p.condition, p.policy.max_thinking_tokens) for p in cbf] == [
        ("short", 512),
        ("long", 512),
        ("short", 1024),
        ("long", 1024),
        ("short", "auto"),
        ("long", "auto"),
    ]
    # rejection: N + 1 tokens allowed (a stop at N shows itself), up to K draws, no prompt
    rj = by["rejection"]
    assert [(p.stated_tokens, p.policy.max_thinking_tokens, p.draws, p.suffix) for p in rj] == [
        (512, 513, 5, ""),
        (1024, 1025, 5, ""),
    ]
    assert "majority" not in by  # votes are taken over the budget points' samples
    labels = [p.label() for p in points]
    assert len(labels) == len(set(labels))
    assert "rejection(512 tokens, K=5),think=513,wait=0" in labels


def test_votes_alone_run_the_base_point_and_templates_are_the_users():
    (only,) = build_points(["majority"], grid())
    assert only.method == "budget" and only.policy.label() == "think=auto,wait=0"
    mine = Prompts(token="Budget: {budget} tokens.", marker="Step {n}:")
    p = build_points(["token-conditional", "step-conditional+bf"], grid(), (3,), mine)
    assert p[0].suffix == "Budget: 512 tokens." and p[-1].stop == "\nStep 0:"
    assert mine.steps_used("Step 3:\na\nStep 2:\nb\nStep 20: c") == 3
    assert Prompts(marker=" t00{n}").stop() == " t000"  # a marker with its own space
    with pytest.raises(S1Error, match="budget"):
        Prompts(token="Think briefly.")
    with pytest.raises(S1Error, match="token budgets"):
        build_points(["rejection"], grid(budgets=("auto",)))
    with pytest.raises(S1Error, match="unknown method"):
        parse_methods(["budget,beam-search"])
    assert parse_methods(None) == ["budget"]
    assert parse_methods(["rejection", "budget,rejection"]) == ["rejection", "budget"]


def test_an_ignore_string_grid():
    assert parse_ignore_grid("none,Hmm,Wait|Hmm") == [(), "Hmm", ("Wait", "Hmm")]
    with pytest.raises(S1Error):
        parse_ignore_grid("Wait,,Hmm")
    pols = budget_grid(grid(budgets=(64, "auto")), parse_ignore_grid("none,Alternatively,Wait"))
    labels = [p.label() for p in pols]
    # no "Wait" count: the string does not matter, each such point runs once
    assert labels == [
        "think=64,wait=0",
        "think=64,wait=2,ignore=none",
        "think=auto,wait=0",
        "think=auto,wait=2,ignore=none",
        "think=64,wait=2,ignore=Alternatively",
        "think=auto,wait=2,ignore=Alternatively",
        "think=64,wait=2",
        "think=auto,wait=2",
    ]
    assert BudgetPolicy(ignore_str=()).ignore_strings == ()
    with pytest.raises(S1Error):
        BudgetPolicy(ignore_str="")  # an empty string stays a mistake


class FakeSession:
    def __init__(self, result, budget_tokens=0):
        self._result = result
        self.state = SimpleNamespace(budget_tokens=budget_tokens)

    async def aresult(self):
        return self._result


class ScriptedEngine:
    """Hands out prepared results in order and records what each start asked for."""

    def __init__(self, draws):
        self.draws = list(draws)
        self.started = []

    def start(self, prompt, policy, format=None, live=True):
        self.started.append(policy)
        thinking, cause = self.draws[len(self.started) - 1]
        ev = [Event("end_thinking", cause, thinking)]
        return FakeSession(Result([], [], "", "", thinking, 3, ev, "stop"))


def test_rejection_stops_at_the_first_sample_that_fits_and_never_exceeds_k():
    hot = SamplingConfig(temperature=1.0, seed=7)
    pol = BudgetPolicy(max_thinking_tokens=9, thinking=hot, answer=hot)
    point = Point("rejection", pol, "8 tokens", stated_tokens=8, draws=5)
    eng = ScriptedEngine([(9, "budget"), (9, "budget"), (7, "model"), (5, "model")])
    _, result, cost = asyncio.run(draw_until_fit(eng, "Q?", pol, point, None))
    assert len(eng.started) == 3 and result.thinking_tokens == 7
    assert cost.fields() == {
        "draws": 3,
        "fit": True,
        "draw_thinking_tokens": [9, 9, 7],
        "compute_thinking_tokens": 25,
        "compute_tokens": 25 + 9,
    }
    assert len({p.thinking.seed for p in eng.started}) == 3  # each draw its own seed
    assert eng.started[0].thinking.seed == 7  # the first is the sample's own
    # never more than K: none fits within two draws
    eng = ScriptedEngine([(9, "budget")] * 5)
    _, result, cost = asyncio.run(
        draw_until_fit(eng, "Q?", pol, Point("rejection", pol, stated_tokens=8, draws=2), None)
    )
    assert len(eng.started) == 2 and not cost.fit and result.thinking_tokens == 9
    # a model end above the stated budget does not fit either; greedy draws once
    cold = pol.with_(thinking=SamplingConfig(temperature=0.0))
    eng = ScriptedEngine([(12, "model"), (5, "model")])
    _, _, cost = asyncio.run(draw_until_fit(eng, "Q?", cold, point, None))
    assert len(eng.started) == 1 and not cost.fit


def rec(qid, policy, correct, think, extracted="1", sample=0, **kw):
    base = {
        "key": f"{qid}|{policy}|{sample}",
        "id": qid,
        "policy": policy,
        "method": kw.pop("method", "budget"),
        "condition": kw.pop("condition", ""),
        "max_thinking": kw.pop("mt", "auto"),
        "num_ignore": 0,
        "min_thinking": 0,
        "sample": sample,
        "budget": kw.pop("budget", 1000),
        "correct": correct,
        "extracted": extracted,
        "thinking_tokens": think,
        "answer_tokens": 3,
        "waits": 0,
    }
    return base | kw


def test_shortest_majority_breaks_ties_by_length():
    rs = [
        rec("q", "p", False, 90, "7", 0),
        rec("q", "p", True, 20, "6", 1),
        rec("q", "p", False, 80, "7", 2),
        rec("q", "p", True, 30, "6", 3),
    ]
    assert shortest_majority(rs) is True  # 2 votes each: "6" thought 25 on average, "7" 85
    assert majority(rs) is False  # plain majority: the tie goes to the first seen
    assert shortest_majority(rs[:3]) is False  # a real majority still wins
    assert shortest_majority([rec("q", "p", False, 5, "")]) is False  # nothing to vote on


def test_control_scaling_performance_per_method_by_hand():
    tc = "token-conditional"
    sc = "step-conditional"
    cc = "class-conditional"
    rs = [
        rec("a", "t64", True, 50, method=tc, stated_tokens=64),
        rec("b", "t64", False, 90, method=tc, stated_tokens=64),
        rec("a", "t128", True, 100, method=tc, stated_tokens=128),
        rec("b", "t128", True, 140, method=tc, stated_tokens=128),
        rec("a", "s2", True, 20, method=sc, stated_steps=2, steps_used=2),
        rec("b", "s2", False, 30, method=sc, stated_steps=2, steps_used=3),
        rec("a", "s4", True, 40, method=sc, stated_steps=4, steps_used=4),
        rec("b", "s4", True, 40, method=sc, stated_steps=4, steps_used=4),
        rec("a", "short", False, 30, method=cc, condition="short"),
        rec("b", "short", True, 50, method=cc, condition="short"),
        rec("a", "long", True, 60, method=cc, condition="long"),
        rec("b", "long", True, 40, method=cc, condition="long"),
        rec("a", "r64", True, 60, method="rejection", stated_tokens=64, draws=2, fit=True,
            compute_thinking_tokens=125),
        rec("b", "r64", False, 65, method="rejection", stated_tokens=64, draws=3, fit=False,
            compute_thinking_tokens=195),
    ]  # fmt: skip
    wanted = [tc, sc, cc, "rejection"]
    m = summarize(rs, wanted=wanted)["methods"]
    assert list(m) == wanted
    # token-conditional: b overshoots both budgets; (70, 50%) -> (120, 100%)
    assert m[tc]["control"] == 50.0
    assert m[tc]["scaling"] == pytest.approx((100 - 50) / (120 - 70) * 1000)
    assert m[tc]["scaling_log2"] == pytest.approx(50 / (math.log2(120) - math.log2(70)))
    assert m[tc]["performance"] == 100.0
    assert [p["condition"] for p in m[tc]["points"]] == ["", ""]  # fixture has none
    # step-conditional: b used 3 steps of 2; (25, 50%) -> (40, 100%)
    assert m[sc]["control"] == 75.0
    assert m[sc]["scaling"] == pytest.approx(50 / 15 * 1000)
    # class-conditional: long thought longer than short for a, not for b
    assert m[cc]["control"] == 50.0
    assert [p["policy"] for p in m[cc]["points"]] == ["short", "long"]
    assert m[cc]["scaling"] == pytest.approx((100 - 50) / (50 - 40) * 1000)
    # rejection: b never fit; its point is the kept thinking, its compute every draw's
    (p,) = m["rejection"]["points"]
    assert (p["thinking_tokens"], p["compute_tokens"], p["accuracy"]) == (62.5, 160.0, 50.0)
    assert m["rejection"]["control"] == 50.0 and m["rejection"]["scaling"] is None
    assert m["rejection"]["performance"] == 50.0
    pol = {s["policy"]: s for s in summarize(rs)["policies"]}
    assert pol["r64"]["mean_draws"] == 2.5 and pol["r64"]["fit"] == 50.0
    assert summarize(rs)["methods"] == {}  # only the methods asked for are reported


def test_votes_are_counted_at_k_times_the_compute():
    rs = []
    for q, answers in (("a", "6676"), ("b", "5889")):
        for s, a in enumerate(answers):
            rs.append(rec(q, "think=auto,wait=0", a == "6", 10 + s, a, s))
    m = summarize(rs, wanted=["majority", "shortest-majority"])["methods"]
    assert set(m) == {"majority_voting", "shortest_majority"}
    mv, sm = m["majority_voting"], m["shortest_majority"]
    x = (10 + 11 + 12 + 13) / 4
    assert [(p["votes"], p["compute_tokens"]) for p in mv["points"]] == [
        (1, x),
        (2, 2 * x),
        (4, 4 * x),
    ]
    # a: 6 wins every vote; b: maj@2 ties 5 vs 8 (first seen: 5), maj@4 8 wins
    assert [p["accuracy"] for p in mv["points"]] == [50.0, 50.0, 50.0]
    assert mv["parallel"] and sm["parallel"]
