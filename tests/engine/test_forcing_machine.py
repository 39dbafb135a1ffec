"""The budget-forcing state machine alone: driven by a random "model", no backend.

These are pure-logic tests next to the real-engine tests of the same path
(tests/test_engine_budget.py), for properties that need many random runs.
"""

from __future__ import annotations

import itertools
import random

import pytest

from s1_engine import BudgetForcer, BudgetPolicy, S1Error
from s1_engine.formats import S1, THINK_TAGS, bind_format


@pytest.fixture(scope="module")
def tok(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


def machine(tok, policy, fmt=S1, context=4096, prompt=None):
    bound = bind_format(fmt, tok)
    if prompt is None:
        prompt = tok.encode(
            "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n" + fmt.prompt_suffix
        )
    return BudgetForcer(
        prompt,
        bound,
        policy,
        context,
        encode=lambda s: tok.encode(s, add_special_tokens=False),
        decode=lambda ids: tok.decode(list(ids), skip_special_tokens=False),
    )


def drive(m, model, max_steps=10_000):
    """Run the machine against `model(context) -> token`, honouring max_tokens."""
    steps = 0
    while (step := m.next_step()) is not None:
        for _ in range(step.max_tokens):
            token = model(None)
            if m.feed(token):
                break
        else:
            m.on_request_end("length")
        steps += 1
        assert steps < max_steps
    return m


def test_random_models_never_exceed_the_budget(tok):
    rng = random.Random(0)
    stop_ids = sorted(bind_format(S1, tok).think_stop_ids)
    vocab = len(tok)
    for trial in range(300):
        budget = rng.choice([0, 1, 2, 5, 17, 64, 200])
        policy = BudgetPolicy(
            max_thinking_tokens=budget,
            min_thinking_tokens=rng.choice([0, 3, 30]),
            num_ignore=rng.choice([0, 1, 2, 5]),
            ignore_str=rng.choice(["Wait", ("Hmm", "Wait"), "Let me check"]),
            answer_max_tokens=rng.choice([1, 8]),
        )
        p_stop = rng.choice([0.0, 0.05, 0.3])

        def model(_ctx, rng=rng, p_stop=p_stop):
            if rng.random() < p_stop:
                return rng.choice(stop_ids)
            return rng.randrange(300, vocab)

        m = drive(machine(tok, policy), model)
        assert m.done
        assert m.thinking_tokens <= budget, (trial, policy)
        assert m.thinking_tokens == m.segments.count("think")
        waits = [e for e in m.events if e.kind == "wait"]
        assert sum(1 for e in waits if e.cause == "budget") >= min(policy.num_ignore, 0)
        ends = [e for e in m.events if e.kind == "end_thinking"]
        assert len(ends) == 1
        if ends[0].cause == "model":
            # a model end is accepted only after the ignores are used and the minimum met
            assert m.ignores_used == policy.num_ignore
            assert ends[0].thinking_tokens >= policy.min_thinking_tokens
        # the answer never exceeds its cap (lead-in excluded)
        assert m.answer_sampled <= policy.answer_max_tokens


def test_ignore_strings_rotate(tok):
    end = sorted(bind_format(S1, tok).think_stop_ids)[0]
    calls = iter(range(10**6))
    m = machine(tok, BudgetPolicy(num_ignore=3, ignore_str=("Hmm", "Wait")))
    # the model tries to end after every 2 tokens
    drive(m, lambda _c: end if next(calls) % 3 == 2 else 400)
    assert [e.text for e in m.events if e.kind == "wait"] == ["Hmm", "Wait", "Hmm"]


def test_wait_that_does_not_fit_ends_thinking_by_budget(tok):
    end = sorted(bind_format(S1, tok).think_stop_ids)[0]
    ignore = "one two three four five"
    n = len(tok.encode(ignore, add_special_tokens=False))
    assert n > 2
    calls = iter(range(10**6))
    m = machine(tok, BudgetPolicy(max_thinking_tokens=5, num_ignore=4, ignore_str=ignore))
    drive(m, lambda _c: end if next(calls) == 4 else 400)
    assert m.thinking_tokens == 4  # a 4-token thought; the ignore string would overflow
    assert [(e.kind, e.cause) for e in m.events if e.kind in ("wait", "end_thinking")] == [
        ("end_thinking", "budget")
    ]


def test_multi_token_stop_string_is_cut_from_the_thinking(tok):
    """A stop string of several tokens (no single-token stop) is found in the text."""
    from dataclasses import replace

    fmt = replace(THINK_TAGS, stop_strings=("DONE!",), required_tokens=())
    stop_ids = tok.encode("DONE!", add_special_tokens=False)
    assert len(stop_ids) > 1
    script = itertools.chain([400, 401], stop_ids, itertools.repeat(402))
    m = machine(
        tok, BudgetPolicy(num_ignore=1, max_thinking_tokens=12, answer_max_tokens=4), fmt=fmt
    )
    drive(m, lambda _c: next(script))
    waits = [e for e in m.events if e.kind == "wait"]
    assert len(waits) == 1 and waits[0].token_index == 2
    assert "DONE" not in tok.decode(m.segment_ids("think"))
    assert m.thinking_tokens == 12


def test_reopen_from_the_answer_drops_it_and_thinks_again(tok):
    m = machine(tok, BudgetPolicy(max_thinking_tokens=50))
    step = m.next_step()
    assert step is not None
    for t in [400, 401]:
        m.feed(t)
    assert m.end_thinking()
    m.next_step()
    m.feed(402)  # one answer token
    assert m.phase == "answer" and m.answer_tokens > 0
    assert m.force_wait()
    assert m.phase == "think" and m.answer_tokens == 0
    assert m.segment_ids("think")[-1] == tok.encode("Wait", add_special_tokens=False)[-1]
    assert "answer" not in m.segments and "delimiter" not in m.segments


def test_bad_policies_are_one_line_errors():
    for kwargs in (
        {"max_thinking_tokens": -1},
        {"min_thinking_tokens": -2},
        {"num_ignore": -1},
        {"answer_max_tokens": 0},
        {"ignore_str": ""},
    ):
        with pytest.raises(S1Error) as err:
            BudgetPolicy(**kwargs)
        assert "\n" not in str(err.value)


def test_prompt_longer_than_the_context(tok):
    with pytest.raises(S1Error, match="context"):
        machine(tok, BudgetPolicy(), context=8)


def test_feeding_a_batch_equals_feeding_token_by_token(tok):
    """feed_many (batch sessions) leaves the machine exactly as feed() one by one does."""
    rng = random.Random(1)
    stop_ids = sorted(bind_format(S1, tok).think_stop_ids)
    for _ in range(300):
        policy = BudgetPolicy(
            max_thinking_tokens=rng.choice([3, 8, 20, 60]), num_ignore=rng.randint(0, 3)
        )
        a, b = machine(tok, policy), machine(tok, policy)
        for _ in range(12):
            step_a, step_b = a.next_step(), b.next_step()
            if step_a is None:
                assert step_b is None
                break
            chunk = [
                rng.choice(stop_ids) if rng.random() < 0.1 else rng.randrange(len(tok))
                for _ in range(min(step_a.max_tokens, rng.randint(1, 12)))
            ]
            cut_a = any(a.feed(t) for t in chunk)
            cut_b = b.feed_many(chunk)
            assert cut_a == cut_b
            if not cut_a:
                a.on_request_end("length")
                b.on_request_end("length")
            assert (a.out, a.segments, a.forced, a.events) == (
                b.out,
                b.segments,
                b.forced,
                b.events,
            )
            assert (a.phase, a.thinking_tokens) == (b.phase, b.thinking_tokens)


def test_a_budget_below_the_tokens_thought_is_raised_to_them(tok):
    """A key pressed at token n lands a token later: the budget becomes the tokens used,
    thinking ends there, and the record never shows thinking over its budget."""
    m = machine(tok, BudgetPolicy(max_thinking_tokens=3000))
    m.next_step()
    for t in range(400, 407):
        m.feed(t)
    m.set_budget(5)  # asked for 5 when 7 were already thought
    assert m.budget == 7 and m.phase != "think"
    changed = [e for e in m.events if e.kind == "budget_changed"]
    ended = [e for e in m.events if e.kind == "end_thinking"]
    assert [(e.cause, e.text) for e in changed] == [("user", "7")]
    assert [(e.cause, e.token_index) for e in ended] == [("budget", 7)]
    assert m.thinking_tokens == 7
