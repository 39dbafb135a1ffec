"""The s1 reference's evaluation semantics, to the letter (its lm-evaluation-harness fork,
`vllm_causallms.py`), on the real backends with the scripted model, and the batch path.

- a cut puts a newline before the delimiter unless the thinking already ends in one;
- a request after a forced "Wait" (and every thinking request of a policy that forces
  Waits) samples at least one token before it may stop (vLLM's `min_tokens=1`);
- "auto" = the context - the prompt - the delimiter and lead-in - 100 tokens;
- `live=False` sessions get one chunk per backend request (vLLM FINAL_ONLY).
"""

from __future__ import annotations

import pytest

from s1_engine import BudgetPolicy, TokenDelta
from s1_engine.testing import STOPPING_WORD

Q = "What is 1+2?"
ENDLESS = BudgetPolicy(max_thinking_tokens=3000, answer_max_tokens=8)


def test_a_cut_puts_a_newline_before_the_delimiter(engine):
    fmt = engine.bound_format("s1")
    r = engine.generate(Q, BudgetPolicy(max_thinking_tokens=5))
    tail = list(fmt.newline_ids) + list(fmt.think_end_ids) + list(fmt.lead_in_ids)
    assert r.output_ids[5 : 5 + len(tail)] == tail
    assert r.thinking == "t000 t001 t002 t003 t004"
    assert r.answer == "Final Answer: xa xb xc"


def test_no_newline_when_the_thinking_already_ends_in_one(engine):
    fmt = engine.bound_format("think-tags")
    s = engine.start(Q, ENDLESS, format="think-tags", paused=True)
    text = " check this\n"
    n = len(engine.tokenizer.encode(text, add_special_tokens=False))
    s.inject(text)
    s.set_budget(n)  # the budget is used up right after the injected line
    s.begin()
    r = s.result(60)
    assert r.thinking_tokens == n
    tail = list(fmt.think_end_ids) + list(fmt.lead_in_ids)
    assert r.output_ids[n : n + len(tail)] == tail


def test_a_model_end_gets_no_newline(engine):
    fmt = engine.bound_format("s1")
    r = engine.generate(Q, BudgetPolicy())
    # the model's own end: its "<|im_start|>" is the delimiter's first token
    assert r.output_ids[10 : 10 + len(fmt.think_end_ids)] == list(fmt.think_end_ids)


@pytest.mark.parametrize("k", [1, 2])
def test_after_a_forced_wait_the_model_must_write_a_token(engine, k):
    """After "Okay" the scripted model tries to stop at once; masked, it thinks again."""
    r = engine.generate(Q, BudgetPolicy(num_ignore=k, ignore_str=STOPPING_WORD))
    assert r.thinking_tokens == 10 + 11 * k  # each "Okay" is followed by the 10 steps
    assert f"{STOPPING_WORD}{STOPPING_WORD}" not in r.thinking.replace(" ", "")
    assert r.thinking.count("t000") == k + 1
    waits = [(e.cause, e.thinking_tokens) for e in r.events if e.kind == "wait"]
    assert waits == [("budget", 10 + 11 * i) for i in range(k)]


def test_a_user_wait_also_gets_one_sampled_token(engine):
    s = engine.start(Q, BudgetPolicy(ignore_str=STOPPING_WORD), paused=True)
    s.force_wait(now=False)  # at the model's first attempt to stop (num_ignore is 0)
    s.begin()
    r = s.result(60)
    assert [(e.kind, e.cause) for e in r.events if e.kind == "wait"] == [("wait", "user")]
    assert r.thinking_tokens == 21  # 10 steps, "Okay", the 10 steps again, then the end


def test_auto_is_the_reference_budget(vllm_engine):
    fmt = vllm_engine.bound_format("think-tags")
    r = vllm_engine.generate(Q, BudgetPolicy(max_thinking_tokens="auto"), format="think-tags")
    expected = vllm_engine.max_model_len - len(r.prompt_ids) - len(fmt.end_max_ids) - 100
    assert r.thinking_tokens == expected
    assert next(e for e in r.events if e.kind == "end_thinking").cause == "budget"


def test_fit_leaves_the_answer_its_max_tokens(vllm_engine):
    fmt = vllm_engine.bound_format("think-tags")
    policy = BudgetPolicy(max_thinking_tokens="fit", answer_max_tokens=500)
    r = vllm_engine.generate(Q, policy, format="think-tags")
    closing = len(fmt.newline_ids) + len(fmt.think_end_ids) + len(fmt.lead_in_ids)
    room = vllm_engine.max_model_len - len(r.prompt_ids) - closing - 1
    assert r.thinking_tokens == room - 500


def sampled_sizes(items) -> list[tuple[str, int]]:
    return [
        (x.segment, len(x.token_ids))
        for x in items
        if isinstance(x, TokenDelta) and not x.forced and x.segment != "delimiter"
    ]


def test_batch_sessions_get_one_chunk_per_backend_request(engine):
    policy = BudgetPolicy(num_ignore=2)
    batch = engine.start(Q, policy, live=False)
    live = engine.start(Q, policy)
    rb, rl = batch.result(60), live.result(60)
    assert rb.output_ids == rl.output_ids
    assert [e.to_dict() for e in rb.events] == [e.to_dict() for e in rl.events]
    # batch: one item per backend request (10 steps, 5 after each Wait, the answer), no text
    assert sampled_sizes(batch.items()) == [
        ("think", 10),
        ("think", 5),
        ("think", 5),
        ("answer", 3),
    ]
    assert all(x.text == "" for x in batch.items() if isinstance(x, TokenDelta))
    # live: one item per sampled token, with its text
    assert sampled_sizes(live.items()) == [("think", 1)] * 20 + [("answer", 1)] * 3


def test_wait_after_the_answer_reopens_a_finished_request(engine):
    """The s1 demo: the model answered; a Wait makes it think on (one request, one story)."""
    s = engine.start(Q, BudgetPolicy())
    first = s.result(60)
    assert first.thinking_tokens == 10 and first.answer == "xa xb xc"
    n_items = len(s.items())
    s.force_wait()
    r = s.result(60)
    assert r.thinking_tokens == 16  # "Wait" + the 5 steps the model writes after it
    assert r.thinking.endswith("Wait w000 w001 w002 w003 w004")
    assert r.answer == "xa xb xc" and r.finish_reason == "stop"
    kinds = [(e.kind, e.cause, e.text) for e in r.events]
    assert kinds[kinds.index(("finish", "model", "stop")) + 1 :] == [
        ("think_start", "user", "reopened"),
        ("wait", "user", "Wait"),
        ("end_thinking", "model", ""),
        ("finish", "model", "stop"),
    ]
    assert len(s.items()) > n_items  # the stream went on


def test_no_reopen_after_a_budget_cut(engine):
    s = engine.start(Q, BudgetPolicy(max_thinking_tokens=5))
    r = s.result(60)
    s.force_wait()  # the budget is spent: nothing to reopen
    assert s.result(60).output_ids == r.output_ids
