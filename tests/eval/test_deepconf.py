"""DeepConf (arXiv 2508.15260): the vote and filter on hand-made traces, the token
confidence against a direct computation from the transformers model's logits, the online
stop as a state of the machine on both backends (exact positions and events), and a real
`s1 eval --method majority,deepconf,deepconf-online` run that writes results and resumes.

The scripted model's distributions are exact: a plain position puts sqrt(H) on its
successor and 0 elsewhere (C = 19/20 * sqrt(H), about 21.49 at H = 512); the position
after an ignore string also holds a second choice at sqrt(H)/2, so the first token after
a "Wait" is less confident (about 20.93).
"""

from __future__ import annotations

import json
import math

import pytest

from s1_cli.main import main
from s1_engine.confidence import group_confidences, token_confidence, trace_scores
from s1_engine.errors import S1Error
from s1_engine.plugin_args import policy_from_args
from s1_engine.policy import CONF_TOP_K, BudgetPolicy
from s1_engine.testing import make_scripted_model
from s1_eval import deepconf
from s1_eval.deepconf import ConfVote, kept, offline_vote, online_voters, percentile, threshold
from s1_eval.metrics import majority

Q = "What is 1 + 1?"


def rec(i, answer, lowest, correct=False, stop=False, tokens=10):
    events = [{"kind": "stop", "cause": "policy", "token_index": 3, "text": ""}] if stop else []
    return {
        "id": "q", "sample": i, "extracted": answer, "correct": correct, "events": events,
        "thinking_tokens": tokens, "confidence": {"window": 3, "lowest": lowest, "tail": -lowest},
    }  # fmt: skip


# ----- the vote and the filter (pure) ---------------------------------------------------------
def test_percentile_is_numpys_linear_one():
    np = pytest.importorskip("numpy")
    xs = [5.0, 9.0, 7.0, 1.0, 8.0, 2.5]
    for q in (0, 10, 37.5, 50, 90, 100):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))


def test_the_filter_keeps_the_top_eta_percent_of_traces_with_an_answer():
    recs = [rec(0, "A", 5.0), rec(1, "B", 9.0), rec(2, "A", 7.0), rec(3, "C", 1.0)]
    recs += [rec(4, "B", 8.0), rec(5, "", 99.0)]  # no answer: never kept, not in the cut
    # eta 90: the cut is the 10th percentile of [1, 5, 7, 8, 9] = 2.6: all but the lowest
    assert [r["sample"] for r in kept(recs, ConfVote(eta=90))] == [0, 1, 2, 4]
    # eta 10: the 90th percentile = 8.6: only the most confident
    assert [r["sample"] for r in kept(recs, ConfVote(eta=10))] == [1]
    # another score: the tail (here minus the lowest, so the order turns round)
    assert [r["sample"] for r in kept(recs, ConfVote(eta=10, score="tail"))] == [3]


def test_the_confidence_weighted_winner_differs_from_plain_majority():
    """Three unsure traces say A, two sure ones B (correct): majority picks A; DeepConf
    drops the least sure A and weighs B's 18.5 against A's 4.3."""
    recs = [rec(0, "A", 2.0), rec(1, "A", 2.1), rec(2, "A", 2.2)]
    recs += [rec(3, "B", 9.0, True), rec(4, "B", 9.5, True)]
    assert majority(recs) is False
    assert [r["sample"] for r in kept(recs, ConfVote())] == [1, 2, 3, 4]  # cut 2.04
    assert offline_vote(recs, ConfVote()) is True
    assert offline_vote(recs[:3], ConfVote()) is False  # only A: its answer, wrong


def test_online_votes_the_warmup_above_the_threshold_and_drops_the_stopped():
    warm = [rec(0, "A", 5.0), rec(1, "B", 9.0, True)]
    s = threshold(warm, 90)
    assert s == pytest.approx(5.4)  # the 10th percentile of the warm-up's scores
    later = [rec(2, "A", 3.0, stop=True), rec(3, "B", 7.0, True), rec(4, "", 6.0)]
    assert [r["sample"] for r in online_voters(warm, later, s)] == [1, 3]
    assert deepconf.online_vote(warm, later, s) is True
    assert threshold([], 90) is None


def test_bad_settings_are_one_line_errors():
    for kw, needle in (
        ({"eta": 0}, "--conf-eta"),
        ({"warmup": 0}, "--conf-warmup"),
        ({"score": "max"}, "--conf-score"),
    ):
        with pytest.raises(S1Error, match=needle):
            ConfVote(**kw)
    with pytest.raises(S1Error, match="confidence stop"):
        BudgetPolicy(conf_stop=-1.0)
    with pytest.raises(S1Error, match="confidence stop"):
        BudgetPolicy(conf_stop=float("nan"))
    with pytest.raises(S1Error, match="confidence window"):
        BudgetPolicy(conf_window=0)
    # measuring alone changes no token: the key stays; a stop is part of it
    assert BudgetPolicy(conf_stop=0.0).label() == BudgetPolicy().label()
    assert BudgetPolicy(conf_stop=12.5, conf_window=8).label().endswith(",conf_stop=12.5@8")
    with pytest.raises(S1Error, match="vllm serve"):
        policy_from_args({"conf_stop": 12.5})


def test_a_serve_request_sets_the_confidence_stop():
    from s1_serve.errors import RequestError
    from s1_serve.plan import plan_request
    from s1_serve.schema import ChatRequest, parse_body

    body = {"messages": [{"role": "user", "content": Q}], "conf_stop": 12.5, "conf_window": 32}
    p = plan_request(ChatRequest.model_validate(body), BudgetPolicy(), {}).policy
    assert (p.conf_stop, p.conf_window) == (12.5, 32)
    with pytest.raises(RequestError, match="conf_window"):
        parse_body(ChatRequest, {**body, "conf_window": 0})


def test_scores_of_a_trace():
    confs = [4.0, 2.0, 6.0, 1.0, 5.0]
    assert group_confidences(confs, 2) == [3.0, 4.0, 3.5, 3.0]
    s = trace_scores(confs, 2)
    assert s == {"lowest": 3.0, "bottom10": 3.0, "tail": 3.0, "mean": 3.6}
    assert group_confidences(confs, 9) == [3.6]  # shorter than the window: one group
    assert trace_scores([], 2) is None
    assert token_confidence((-0.5, -1.5)) == 1.0


# ----- the token confidence, against the model's own logits -------------------------------------
def test_token_confidence_is_the_mean_of_the_top_k_from_the_transformers_logits(
    hf_engine, tiny_model
):
    import torch
    from transformers import AutoModelForCausalLM

    pol = BudgetPolicy(max_thinking_tokens=30, num_ignore=1, conf_stop=0.0, conf_window=3)
    r = hf_engine.generate(Q, pol)
    assert r.thinking_tokens == 16 and r.count("wait", "budget") == 1 and r.answer
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model), dtype=torch.float32)
    ids = torch.tensor([r.prompt_ids + r.output_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
    n = len(r.prompt_ids)
    sampled = [
        i for i, (s, f) in enumerate(zip(r.segments, r.forced_mask)) if s == "think" and not f
    ]
    direct = [-logp[n + i - 1].topk(CONF_TOP_K).values.mean().item() for i in sampled]
    assert len(sampled) == len(r.token_confidences) == 15  # "Wait" was forced: no confidence
    assert r.token_confidences == pytest.approx(direct, abs=0.05)
    root = math.sqrt(512)  # the scripted model's hidden size
    plain, after_wait = r.token_confidences[0], r.token_confidences[10]
    assert plain == pytest.approx(19 / 20 * root, abs=0.05)
    assert after_wait == pytest.approx(18 / 20 * root + root / 40, abs=0.05)
    assert set(r.token_confidences) == {plain, after_wait}
    # the machine asks for the k largest only while thinking, and only when the policy does
    m = hf_engine._machine(Q, pol, None)
    assert m.next_step().logprobs == CONF_TOP_K
    assert hf_engine._machine(Q, BudgetPolicy(), None).next_step().logprobs is None


# ----- the online stop: a state of the machine, on both backends --------------------------------
@pytest.mark.parametrize("live", [True, False])
def test_the_online_stop_ends_thinking_where_the_window_falls_below(engine, live):
    def run(**kw):
        pol = BudgetPolicy(max_thinking_tokens=30, num_ignore=1, **{"conf_window": 3, **kw})
        return engine.start(Q, pol, live=live).result(120)

    full = run(conf_stop=0.0)  # measured, never stopped
    plain, low = full.token_confidences[0], full.token_confidences[10]
    assert low < plain - 0.3 and full.thinking_tokens == 16 and full.finish_reason == "stop"
    lowest = trace_scores(full.token_confidences, 3)["lowest"]
    assert lowest == pytest.approx((2 * plain + low) / 3)

    # between the window holding the token after "Wait" and a plain one: stopped right there
    r = run(conf_stop=(lowest + plain) / 2)
    assert [(e.kind, e.cause, e.token_index) for e in r.events] == [
        ("think_start", "model", 0),
        ("wait", "budget", 10),
        ("stop", "policy", 12),
        ("finish", "policy", 12),
    ]
    assert r.events[2].text == f"confidence {lowest:.3f} < {(lowest + plain) / 2:g}"
    assert (r.thinking_tokens, r.answer, r.finish_reason) == (12, "", "stopped")
    assert r.token_confidences == full.token_confidences[:11]
    assert r.output_ids == full.output_ids[:12]

    # above every token's: the first full window (3 sampled tokens) stops it
    r = run(conf_stop=plain + 1)
    kinds = [(e.kind, e.cause, e.token_index, e.thinking_tokens) for e in r.events]
    assert kinds == [("think_start", "model", 0, 0), ("stop", "policy", 3, 3)] + [
        ("finish", "policy", 3, 3)
    ]
    # below the lowest window: never; a window longer than the thinking: never full
    assert run(conf_stop=lowest - 0.1).output_ids == full.output_ids
    r = run(conf_stop=plain + 1, conf_window=20)
    assert r.output_ids == full.output_ids and r.count("stop") == 0


# ----- a real s1 eval run ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def coin_model(tmp_path_factory):
    """After its first thinking step the model ends with probability 0.5: a short trace
    (1 token, its one confidence plain) or the whole chain (a less confident second
    token: its 3-token windows are lower)."""
    return make_scripted_model(tmp_path_factory.mktemp("coin"), end_prob=0.5, dtype="float32")


def test_eval_majority_deepconf_and_online_write_results_and_resume(coin_model, tmp_path, capsys):
    task = tmp_path / "t.jsonl"
    task.write_text("".join(json.dumps({"question": q, "answer": "xa"}) + "\n" for q in "ab"))
    out = tmp_path / "out"
    argv = ["eval", "--task", str(task), "--out", str(out), "--model", str(coin_model)]
    argv += ["--backend", "hf", "--method", "majority,deepconf,deepconf-online", "-n", "8"]
    argv += ["--conf-warmup", "4", "--conf-window", "3", "--conf-eta", "50", "-t", "1"]
    argv += ["--max-thinking", "16"]
    argv += ["--instruction", ""]
    assert main(argv) == 0, capsys.readouterr().err
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    base = {(r["id"], r["sample"]): r for r in recs if r["method"] == "budget"}
    online = [r for r in recs if r["method"] == "deepconf-online"]
    assert len(base) == 2 * 8 and len(online) == 2 * 4  # samples 4..7 after the warm-up
    assert {r["sample"] for r in online} == {4, 5, 6, 7}
    assert {r["thinking_tokens"] for r in base.values()} == {1, 10}  # both kinds were drawn
    for r in base.values():
        assert r["confidence"]["window"] == 3
    stops = 0
    for r in online:
        warm = [base[(r["id"], s)] for s in range(4)]
        assert r["conf_threshold"] == pytest.approx(threshold(warm, 50))
        twin = base[(r["id"], r["sample"])]  # the same seed: the same trace until a stop
        if twin["thinking_tokens"] >= 3 and twin["confidence"]["lowest"] < r["conf_threshold"]:
            stops += 1
            assert deepconf.stopped(r) and r["finish_reason"] == "stopped"
            assert r["thinking_tokens"] == 3 and r["answer"] == ""  # the first full window
            assert r["thinking"] == " ".join(twin["thinking"].split()[:3])
        else:
            assert not deepconf.stopped(r)
            assert (r["thinking"], r["answer"]) == (twin["thinking"], twin["answer"])
    summary = json.loads((out / "summary.json").read_text())
    m = summary["methods"]
    assert {"majority_voting", "deepconf", "deepconf_online"} <= set(m)
    assert m["deepconf"]["parallel"] and m["deepconf_online"]["method"] == "deepconf-online"
    x = next(p for p in summary["policies"] if p["method"] == "budget")["mean_thinking_tokens"]
    assert [p["votes"] for p in m["deepconf"]["points"]] == [1, 2, 4, 8]
    assert m["deepconf"]["points"][-1]["compute_tokens"] == pytest.approx(8 * x)
    spent = sum(r["thinking_tokens"] for r in online)
    spent += sum(r["thinking_tokens"] for (_, s), r in base.items() if s < 4)
    assert m["deepconf_online"]["points"][0]["compute_tokens"] == pytest.approx(spent / 2)
    assert 0 < stops < len(online)  # this run's seeds draw both: stopped and voting traces

    # a rerun resumes: nothing runs again, the same summary
    before = (out / "samples.jsonl").read_text()
    assert main(argv) == 0
    assert (out / "samples.jsonl").read_text() == before
    assert json.loads((out / "summary.json").read_text())["methods"] == m
    # another window: the saved confidences are not this run's
    assert main([*argv, "--conf-window", "4"]) == 2
    assert "stale" in capsys.readouterr().err


def test_the_tui_status_line_names_the_online_stop():
    from s1_tui.status import controls_label

    assert controls_label([], "", 0, "", conf_stop=12.5, conf_window=64) == "deepconf 12.5@64"
    assert controls_label([], "", 0, "nowait", 0.0, 64) == "nowait"  # measuring alone: nothing
