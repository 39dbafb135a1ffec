"""DEER (arXiv 2504.15895) as a state of the machine: a probe (a greedy trial answer after
the delimiter and the lead-in) at each Wait point, its mean token probability against the
threshold, and what it costs, counted apart from the thinking.

The machine alone with scripted probabilities (the aggregate, exact), then the real
backends on the scripted model: s1 format, 10 thinking tokens, then an end attempt; after
"Wait" 5 more; a trial answer after "Final Answer:" is ' xa xb xc' then <|im_end|> (4
tokens, each of probability ~1). Think-tags: ' ua ub uc' forever, so with the ignore string
"ub" the model writes it itself at thinking tokens 1, 4, 7, ...
"""

from __future__ import annotations

import math

import pytest
from test_forcing_machine import machine

from s1_engine import BudgetPolicy, S1Error
from s1_engine.formats import S1, THINK_TAGS, bind_format
from s1_engine.inengine import in_engine_ok
from s1_engine.plugin_args import policy_from_args

Q = "What is 1+2?"


@pytest.fixture(scope="module")
def tok(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


def ids(tok, *words):
    return [tok.encode(w, add_special_tokens=False)[0] for w in words]


def probes(r):
    return [
        (e.cause, e.token_index, e.thinking_tokens, e.text) for e in r.events if e.kind == "probe"
    ]


def ends(r):
    return [(e.cause, e.token_index, e.text) for e in r.events if e.kind == "end_thinking"]


def think_to_the_end_attempt(tok, m):
    """Feed the scripted s1 thinking (t000 ... t009), then the end id: the probe is due."""
    m.next_step()
    for w in [f" t{i:03d}" for i in range(10)]:
        assert m.feed(ids(tok, w)[0]) is False
    return m.feed(tok.encode("<|im_start|>", add_special_tokens=False)[0])


# ----- the machine alone ----------------------------------------------------------------------
@pytest.mark.parametrize("threshold, exits", [(0.85, True), (0.8501, False), (0.0, True)])
def test_the_confidence_is_the_mean_probability_of_the_trial_answer(tok, threshold, exits):
    """Probabilities .9 and .8 (the end id's is left out): 0.85, against the threshold."""
    policy = BudgetPolicy(max_thinking_tokens=40, num_ignore=1, deer_threshold=threshold)
    m = machine(tok, policy, S1)
    assert think_to_the_end_attempt(tok, m) is True
    step = m.next_step()
    fmt = bind_format(S1, tok)
    closing = [*fmt.newline_ids, *fmt.think_end_ids, *fmt.lead_in_ids]
    assert step.probe and step.logprobs == 0 and step.max_tokens == 16
    assert step.context_ids == m.prompt + m.out + closing and len(m.out) == 10
    assert step.sampling.temperature == 0 and step.stop_ids == fmt.answer_stop_ids
    xa, xb = ids(tok, " xa", " xb")
    end = tok.encode("<|im_end|>", add_special_tokens=False)[0]
    m.feed_probe([xa, xb, end], [math.log(0.9), math.log(0.8), float("nan")])
    assert (m.probes, m.probe_tokens, m.thinking_tokens) == (1, 3, 10 if exits else 11)
    assert probes(m) == [("policy", 10, 10, "confidence 0.850 · 'xa xb'")]
    if exits:
        assert ends(m) == [("policy", 10, "confidence 0.850")]
        assert m.out[10:] == closing and m.phase == "answer"
    else:
        assert ends(m) == [] and [e.kind for e in m.events][-1] == "wait"
        assert m.out[10:] == ids(tok, "Wait") and m.forced[10]


def test_a_word_the_model_writes_is_held_back_and_dropped_at_an_exit(tok):
    """The ignore string 'ua ub' is two tokens: when ' ub' completes it the probe's context
    ends before ' ua'; an exit drops the ' ua' the model wrote."""
    ua, ub = ids(tok, " ua", " ub")
    m = machine(
        tok, BudgetPolicy(max_thinking_tokens=9, ignore_str="ua ub", deer_threshold=0.5), THINK_TAGS
    )
    m.next_step()
    assert m.feed(ua) is False and m.feed(ub) is True  # held back: a probe first
    step = m.next_step()
    assert step.probe and step.context_ids[len(m.prompt)] != ua  # the context ends before it
    m.feed_probe(ids(tok, " xa"), [0.0])  # probability 1
    assert m.thinking_tokens == 0 and ua not in m.out and ub not in m.out
    assert probes(m) == [("policy", 0, 0, "confidence 1.000 · 'xa'")]
    assert ends(m) == [("policy", 0, "confidence 1.000")]


def test_a_one_token_word_stops_the_thinking_request(tok):
    """As the reference stops its thinking request at "Wait": a batch request does not run
    past a probe point. Below --min-thinking the word is written, and a new request goes on."""
    ua, ub = ids(tok, " ua", " ub")
    policy = BudgetPolicy(ignore_str="ub", deer_threshold=0.5, min_thinking_tokens=3)
    m = machine(tok, policy, THINK_TAGS)
    assert ub in m.next_step().stop_ids
    assert m.feed(ua) is False and m.feed(ub) is True  # cut: no probe below the minimum
    assert m.out[-2:] == [ua, ub] and m.probes == 0 and not m.next_step().probe
    assert ub not in machine(tok, BudgetPolicy(ignore_str="ub"), THINK_TAGS).next_step().stop_ids


def test_bad_values_are_one_line_errors():
    for bad in (-0.1, float("nan"), "high", True):
        with pytest.raises(S1Error, match="DEER threshold must be a number >= 0"):
            BudgetPolicy(deer_threshold=bad)  # type: ignore[arg-type]
    with pytest.raises(S1Error, match="DEER probe tokens must be a whole number >= 1"):
        BudgetPolicy(deer_threshold=0.9, deer_probe_tokens=0)
    with pytest.raises(S1Error, match="DEER .deer_threshold. does not run inside plain vllm"):
        policy_from_args({"deer_threshold": 0.9})
    with pytest.raises(S1Error, match="DEER"):
        policy_from_args({"max_thinking_tokens": 64, "deer_probe_tokens": "8"})
    assert BudgetPolicy(deer_threshold=0.9).label() == "think=auto,wait=0,deer=0.9@16"


# ----- the real backends -------------------------------------------------------------------------
def test_probes_at_each_suppressed_end_cost_apart_and_change_nothing_above_1(engine):
    """Threshold 2: a probe before each of the two Waits (at 10 and 16 thinking tokens),
    none at the last end (no ignore left); the tokens and the other events are s1's."""
    plain = engine.generate(Q, BudgetPolicy(max_thinking_tokens=40, num_ignore=2))
    r = engine.generate(Q, BudgetPolicy(max_thinking_tokens=40, num_ignore=2, deer_threshold=2))
    text = "confidence 1.000 · 'xa xb xc'"
    assert probes(r) == [("policy", 10, 10, text), ("policy", 16, 16, text)]
    assert (r.probes, r.probe_tokens) == (2, 8)  # ' xa xb xc' and the end id, twice
    assert r.thinking_tokens == plain.thinking_tokens == 22  # probe tokens are not thinking
    assert r.output_ids == plain.output_ids and r.forced_mask == plain.forced_mask
    assert [e for e in r.events if e.kind != "probe"] == plain.events
    assert plain.probes == plain.probe_tokens == 0


@pytest.mark.parametrize("threshold", [0.0, 0.95])
def test_a_confident_probe_ends_thinking_at_the_first_wait_point(engine, threshold):
    policy = BudgetPolicy(max_thinking_tokens=40, num_ignore=2, deer_threshold=threshold)
    r = engine.generate(Q, policy)
    fmt = engine.bound_format()
    closing = [*fmt.newline_ids, *fmt.think_end_ids, *fmt.lead_in_ids]
    assert r.thinking_tokens == 10 and (r.probes, r.probe_tokens) == (1, 4)
    assert ends(r) == [("policy", 10, "confidence 1.000")] and r.count("wait") == 0
    assert r.output_ids[10 : 10 + len(closing)] == closing and all(
        r.forced_mask[10:][: len(closing)]
    )
    assert r.answer == "Final Answer: xa xb xc"


def test_the_models_own_wait_is_a_probe_point(engine):
    """Think-tags, ignore string 'ub': the model writes ' ub' at 1, 4, 7. Threshold 2:
    probes there, the same tokens as without DEER; with --min-thinking 5 the first probe is
    at 7, and a confident one ends thinking before the ' ub'."""
    base = BudgetPolicy(max_thinking_tokens=9, ignore_str="ub")
    plain = engine.generate(Q, base, format="think-tags")
    r = engine.generate(Q, base.with_(deer_threshold=2.0), format="think-tags")
    assert [p[1] for p in probes(r)] == [1, 4, 7] and r.probe_tokens == 12
    assert r.output_ids == plain.output_ids and r.thinking_tokens == 9
    early = base.with_(deer_threshold=0.95, min_thinking_tokens=5, deer_probe_tokens=2)
    r = engine.generate(Q, early, format="think-tags")
    ua, ub, uc = ids(engine.tokenizer, " ua", " ub", " uc")
    assert probes(r) == [("policy", 7, 7, "confidence 1.000 · 'xa xb'")]
    assert (r.probes, r.probe_tokens) == (1, 2)  # cut at --deer-probe-tokens 2
    assert r.output_ids[:7] == [ua, ub, uc, ua, ub, uc, ua] and r.thinking_tokens == 7
    assert ends(r) == [("policy", 7, "confidence 1.000")]


def test_hf_and_vllm_write_the_same_tokens_and_events(hf_engine, vllm_engine):
    """On vLLM DEER runs on the continuation path (a probe is a side request), live and
    batch, and writes what transformers writes."""
    policies = [
        (BudgetPolicy(max_thinking_tokens=40, num_ignore=3, deer_threshold=2.0), None),
        (BudgetPolicy(max_thinking_tokens=40, num_ignore=1, deer_threshold=0.5), None),
        (BudgetPolicy(max_thinking_tokens=12, ignore_str="ub", deer_threshold=1.5), "think-tags"),
    ]
    for policy, fmt in policies:
        a = hf_engine.generate(Q, policy, format=fmt)
        for live in (True, False):
            s = vllm_engine.start(Q, policy, format=fmt, live=live)
            assert type(s).__name__ == "Session"  # not in the step loop
            b = s.result()
            assert a.output_ids == b.output_ids and a.events == b.events, (policy, live)
            assert (a.probes, a.probe_tokens) == (b.probes, b.probe_tokens) != (0, 0)
    m = vllm_engine._machine(Q, policies[0][0], None)
    assert not in_engine_ok(m)


# ----- the command and the server ------------------------------------------------------------------
def test_s1_generate_takes_deer_and_its_preset(capsys, tiny_model):
    import json

    from s1_cli.main import main

    argv = ["generate", Q, "-m", str(tiny_model), "--backend", "hf", "--num-ignore", "1"]
    assert main(argv + ["--method", "deer", "--json"]) == 0  # the preset: --deer 0.95
    record = json.loads(capsys.readouterr().out)
    assert (record["probes"], record["probe_tokens"], record["thinking_tokens"]) == (1, 4, 10)
    assert [e["cause"] for e in record["events"] if e["kind"] == "end_thinking"] == ["policy"]
    assert main(argv + ["--method", "deer", "--deer", "3", "--json"]) == 0  # the flag wins
    record = json.loads(capsys.readouterr().out)
    assert (record["probes"], record["thinking_tokens"]) == (1, 16)
    for bad, flag in (["--deer", "-1"], "--deer"), (["--deer-probe-tokens", "0"], "--deer-probe"):
        assert main(argv + bad) == 2
        err = capsys.readouterr().err
        assert flag in err and "Traceback" not in err
    assert main(argv + ["--method", "deep"]) == 2
    err = capsys.readouterr().err
    assert "--method" in err and "'deep'" in err and "deer" in err and "Traceback" not in err


def test_the_server_reads_the_deer_fields():
    from pydantic import ValidationError

    from s1_serve.plan import plan_request
    from s1_serve.schema import ChatRequest

    msg = [{"role": "user", "content": Q}]
    req = ChatRequest.model_validate({"messages": msg, "deer": 0.9, "deer_probe_tokens": 8})
    p = plan_request(req, BudgetPolicy(), {}).policy
    assert (p.deer_threshold, p.deer_probe_tokens) == (0.9, 8)
    with pytest.raises(ValidationError):
        ChatRequest.model_validate({"messages": msg, "deer": -1})
