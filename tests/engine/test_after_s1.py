"""The thinking controls after s1 that are states of the one machine: a scheduled
intervention (arXiv 2503.24370) and a graceful budget cut (a wrap-up sentence and a
grace to end the sentence in progress, the inference side of arXiv 2505.05315).

The machine alone with a scripted token stream (exact positions), then the real
backends on the scripted model: transformers, vLLM with forcing in its step loop, and
vLLM on the continuation path, which must write the very same tokens.
"""

from __future__ import annotations

import pytest
from test_forcing_machine import drive, machine

from s1_engine import BudgetPolicy, S1Error
from s1_engine.formats import THINK_TAGS
from s1_engine.plugin_args import policy_from_args
from s1_engine.policy import parse_intervention, parse_interventions

Q = "What is 1+2?"


@pytest.fixture(scope="module")
def tok(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


def stream(tok, dot_at: int | None):
    """A model that writes ' ua' forever, and '.' as its token number `dot_at`."""
    ua, dot = tok.encode(" ua", add_special_tokens=False)[0], tok.encode(".")[0]
    count = iter(range(10**6))
    return lambda _ctx: dot if next(count) == dot_at else ua


def ends(result_or_machine):
    return [
        (e.cause, e.token_index, e.text)
        for e in result_or_machine.events
        if e.kind == "end_thinking"
    ]


# ----- the machine alone ------------------------------------------------------------------
@pytest.mark.parametrize("dot_at, thought", [(None, 12), (9, 10), (7, 8), (3, 12)])
def test_grace_ends_thinking_at_the_first_sentence_end_past_the_budget(tok, dot_at, thought):
    """Budget 8, grace 4: past the budget thinking goes on until a token ends a sentence
    (that token included) or the grace is used; a sentence that ended before the budget
    does not stop it."""
    policy = BudgetPolicy(max_thinking_tokens=8, grace_tokens=4)
    m = drive(machine(tok, policy, THINK_TAGS), stream(tok, dot_at))
    assert m.thinking_tokens == thought
    grace = f"grace {thought - 8}" if thought > 8 else ""
    assert ends(m) == [("budget", thought, grace)]


def test_grace_fed_in_bulk_equals_fed_token_by_token(tok):
    """`feed_many` (a final-only request, the in-engine replay) across the budget and the
    grace gives what `feed` gives one token at a time."""
    policy = BudgetPolicy(max_thinking_tokens=8, grace_tokens=4)
    ua, dot = tok.encode(" ua", add_special_tokens=False)[0], tok.encode(".")[0]
    tokens = [ua] * 10 + [dot] + [ua] * 5
    one, bulk = machine(tok, policy, THINK_TAGS), machine(tok, policy, THINK_TAGS)
    one.next_step(), bulk.next_step()
    cut = next(i for i, t in enumerate(tokens) if one.feed(t))
    assert bulk.feed_many(tokens) is True
    assert cut == 10 and one.thinking_tokens == bulk.thinking_tokens == 11
    assert one.out == bulk.out and ends(one) == ends(bulk) == [("budget", 11, "grace 3")]


def test_a_scheduled_intervention_goes_in_at_its_token(tok):
    policy = BudgetPolicy(max_thinking_tokens=12, interventions=((5, " ub"), (0, " uc")))
    m = drive(machine(tok, policy, THINK_TAGS), stream(tok, None))
    injects = [(e.cause, e.token_index, e.text) for e in m.events if e.kind == "inject"]
    assert injects == [("policy", 0, " uc"), ("policy", 5, " ub")]  # N counts forced tokens too
    assert [i for i, f in enumerate(m.forced[: m.thinking_tokens]) if f] == [0, 5]
    assert m.thinking_tokens == 12


def test_parse_intervention_and_its_errors():
    assert parse_intervention("Check your work.@200") == (200, "Check your work.")
    assert parse_intervention("mail me@home") == (0, "mail me@home")  # no number: at 0
    assert parse_interventions('[[3, "a"], [0, "b"]]') == ((3, "a"), (0, "b"))
    assert parse_interventions("Check.@7") == ((7, "Check."),)
    with pytest.raises(S1Error, match="not JSON"):
        parse_interventions("[[3, ")
    with pytest.raises(S1Error, match="intervention"):
        BudgetPolicy(interventions=((-1, "x"),))
    with pytest.raises(S1Error, match="grace"):
        policy_from_args({"grace_tokens": -2})
    with pytest.raises(S1Error, match="suppress .NoWait. does not run inside plain vllm serve"):
        policy_from_args({"suppress": "nowait"})
    assert policy_from_args({"suppress": ""}).suppress == ()


# ----- the real backends -------------------------------------------------------------------
def test_wrap_up_goes_before_the_delimiter_and_is_counted(engine):
    fmt = engine.bound_format("think-tags")
    wrap = engine.tokenizer.encode(" Time is up.", add_special_tokens=False)
    policy = BudgetPolicy(max_thinking_tokens=7, wrap_up="Time is up.")
    r = engine.generate(Q, policy, format="think-tags")
    assert r.thinking_tokens == 7 + len(wrap)
    assert r.output_ids[7 : 7 + len(wrap)] == wrap
    assert r.forced_mask[:7] == [False] * 7 and all(r.forced_mask[7 : 7 + len(wrap)])
    kinds = [(e.kind, e.cause, e.token_index) for e in r.events if e.kind != "think_start"]
    assert kinds[:2] == [("inject", "policy", 7), ("end_thinking", "budget", 7 + len(wrap))]
    tail = list(fmt.newline_ids) + list(fmt.think_end_ids) + list(fmt.lead_in_ids)
    assert r.output_ids[7 + len(wrap) : 7 + len(wrap) + len(tail)] == tail
    assert r.answer == "Final Answer: xa xb xc"


def test_grace_runs_its_tokens_when_no_sentence_ends(engine):
    r = engine.generate(Q, BudgetPolicy(max_thinking_tokens=7, grace_tokens=5), format="think-tags")
    assert r.thinking_tokens == 12 and r.forced_mask[:12] == [False] * 12
    assert ends(r) == [("budget", 12, "grace 5")]


def test_a_scheduled_intervention_on_the_engine(engine):
    policy = BudgetPolicy(max_thinking_tokens=15, interventions=((5, "Wait"),))
    r = engine.generate(Q, policy, format="think-tags")
    injects = [(e.cause, e.token_index, e.text) for e in r.events if e.kind == "inject"]
    assert injects == [("policy", 5, " Wait")]  # set off from the word before it
    assert r.thinking_tokens == 15
    assert [i for i, f in enumerate(r.forced_mask[:15]) if f] == list(
        range(5, 5 + len(engine.tokenizer.encode(" Wait", add_special_tokens=False)))
    )


def test_vllm_in_the_engine_writes_what_the_continuation_path_writes(vllm_engine):
    policies = [
        BudgetPolicy(max_thinking_tokens=7, wrap_up="Time is up.", grace_tokens=3),
        BudgetPolicy(max_thinking_tokens=20, num_ignore=2, interventions=((3, "Hmm"),)),
        BudgetPolicy(max_thinking_tokens=13, num_ignore=5, wrap_up="Done."),
    ]
    for policy in policies:
        for fmt in ("think-tags", None):
            a = vllm_engine.start(Q, policy, format=fmt, live=False, in_engine=True).result()
            b = vllm_engine.start(Q, policy, format=fmt, live=False, in_engine=False).result()
            assert a.output_ids == b.output_ids, (policy, fmt)
            assert a.events == b.events and a.forced_mask == b.forced_mask


# ----- the command and the server ------------------------------------------------------------
def test_s1_generate_takes_the_controls_after_s1(capsys, tiny_model):
    """`--intervene`, `--wrap-up` and `--grace` reach the machine; a bad one is one line."""
    import json

    from s1_cli.main import main

    argv = ["generate", Q, "-m", str(tiny_model), "--backend", "hf", "--format", "think-tags"]
    argv += ["--max-thinking", "9", "--intervene", "Hmm@2", "--wrap-up", "Done.", "--json"]
    assert main(argv + ["--grace", "2"]) == 0
    record = json.loads(capsys.readouterr().out)
    kinds = [(e["kind"], e["cause"], e["token_index"]) for e in record["events"]]
    assert ("inject", "policy", 2) in kinds  # " Hmm" at 2 thinking tokens
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_model))
    done = len(tok.encode(" Done.", add_special_tokens=False))
    assert record["thinking_tokens"] == 9 + 2 + done  # the budget, its grace, the wrap-up
    assert main(argv + ["--grace", "-1"]) == 2
    assert "--grace" in capsys.readouterr().err
    assert main(argv[:-5] + ["--suppress", "ub", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [(e["kind"], e["token_index"]) for e in record["events"]][1] == ("suppress", 1)


def test_the_server_reads_the_controls_after_s1():
    from s1_serve.plan import plan_request
    from s1_serve.schema import ChatRequest

    req = ChatRequest.model_validate(
        {
            "messages": [{"role": "user", "content": Q}],
            "intervene": [[4, "Check."]],
            "wrap_up": "Time is up.",
            "grace_tokens": 8,
            "suppress": "nowait",
        }
    )
    p = plan_request(req, BudgetPolicy(), {}).policy
    assert (p.interventions, p.wrap_up, p.grace_tokens) == (((4, "Check."),), "Time is up.", 8)
    assert p.suppress == ("Wait", "Hmm", "Alternatively")
    req = ChatRequest.model_validate(
        {"messages": [{"role": "user", "content": Q}], "intervene": "Check.@x@"}
    )
    assert plan_request(req, BudgetPolicy(), {}).policy.interventions == ((0, "Check.@x@"),)


# ----- suppressed words (NoWait) ---------------------------------------------------------------
def test_a_suppressed_word_is_caught_as_a_whole_sequence(tok):
    """'ub uc' suppressed: ' uc' is caught only where it completes ' ub uc' (never after
    ' ua'), counted, and sampled again with it masked for one token."""
    ua, ub, uc = (tok.encode(w, add_special_tokens=False)[0] for w in (" ua", " ub", " uc"))
    successor = {ua: ub, ub: uc, uc: ua}
    m = machine(tok, BudgetPolicy(max_thinking_tokens=9, suppress=("ub uc",)), THINK_TAGS)
    while (step := m.next_step()) is not None and m.phase == "think":
        for _ in range(step.max_tokens):
            token = successor.get(m.out[-1], ua) if m.out else ua
            if token in step.ban_ids:
                assert step.max_tokens == 1
                token = ua  # the model's next choice once the masked id is gone
            if m.feed(token):
                break
        else:
            m.on_request_end("length")
    thinking = m.out[: m.thinking_tokens]
    assert thinking == [ua, ub] * 4 + [ua]
    sup = [(e.cause, e.token_index, e.text) for e in m.events if e.kind == "suppress"]
    assert sup == [("policy", i, " ub uc") for i in (2, 4, 6, 8)]


def test_suppress_words_and_their_errors():
    from s1_engine.policy import NOWAIT_WORDS, parse_suppress

    assert parse_suppress("nowait") == NOWAIT_WORDS == ("Wait", "Hmm", "Alternatively")
    assert parse_suppress("Wait|Hmm") == ("Wait", "Hmm") and parse_suppress("") == ()
    with pytest.raises(S1Error, match="empty word"):
        parse_suppress("Wait||Hmm")


def test_suppressed_words_on_both_backends(hf_engine, vllm_engine):
    """The scripted model wants ' ub' after ' ua': it is caught at token 1, never written,
    and both backends write the very same tokens after it (vLLM on its continuation path)."""
    policy = BudgetPolicy(max_thinking_tokens=12, suppress=("ub",))
    a = hf_engine.generate(Q, policy, format="think-tags")
    b = vllm_engine.generate(Q, policy, format="think-tags")
    ub = hf_engine.tokenizer.encode(" ub", add_special_tokens=False)[0]
    for r in (a, b):
        sup = [(e.cause, e.token_index, e.text) for e in r.events if e.kind == "suppress"]
        assert sup == [("policy", 1, " ub")]
        assert ub not in r.output_ids and r.count("suppress") == 1
    assert a.output_ids == b.output_ids and a.events == b.events
