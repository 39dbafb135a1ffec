"""Live interventions and independent scheduling on the real engines."""

from __future__ import annotations

import time

import pytest

from s1_engine import BudgetPolicy, Event, TokenDelta

Q = "What is 1+2?"
ENDLESS = BudgetPolicy(max_thinking_tokens=3000, answer_max_tokens=16)


def wait_for_thinking(session, n: int, timeout: float = 60.0) -> int:
    """Block until the stream shows at least n thinking tokens; return the count seen."""
    deadline = time.monotonic() + timeout
    for item in session:
        if isinstance(item, TokenDelta) and item.thinking_tokens >= n:
            return item.thinking_tokens
        assert time.monotonic() < deadline, "no thinking tokens in time"
    raise AssertionError("the request finished before thinking reached n tokens")


def test_wait_armed_for_the_next_end_attempt(engine):
    """force_wait(now=False): the model's next attempt to stop becomes a user "Wait"."""
    s = engine.start(Q, BudgetPolicy(num_ignore=0), paused=True)
    s.force_wait(now=False)
    s.begin()
    r = s.result(60)
    waits = [e for e in r.events if e.kind == "wait"]
    assert [(e.cause, e.token_index, e.text) for e in waits] == [("user", 10, "Wait")]
    assert r.thinking_tokens == 16
    assert [e.cause for e in r.events if e.kind == "end_thinking"] == ["model"]


def test_force_wait_now_with_custom_text(engine):
    s = engine.start(Q, BudgetPolicy(), paused=True)
    s.force_wait("Hmm")
    s.begin()
    r = s.result(60)
    assert [(e.kind, e.cause, e.token_index, e.text) for e in r.events if e.kind == "wait"] == [
        ("wait", "user", 0, "Hmm")
    ]
    assert r.thinking.startswith("Hmm w000 w001")
    assert r.thinking_tokens == 6  # "Hmm" + the 5 tokens the model writes after it


def test_end_thinking_mid_thought(engine):
    s = engine.start(Q, ENDLESS, format="think-tags")
    seen = wait_for_thinking(s, 20)
    s.end_thinking()
    r = s.result(60)
    ends = [e for e in r.events if e.kind == "end_thinking"]
    assert len(ends) == 1 and ends[0].cause == "user"
    assert seen <= r.thinking_tokens < 3000
    assert ends[0].thinking_tokens == r.thinking_tokens
    fmt = engine.bound_format("think-tags")
    n = r.thinking_tokens
    tail = list(fmt.newline_ids) + list(fmt.think_end_ids)
    assert r.output_ids[n : n + len(tail)] == tail
    assert r.answer == "Final Answer: xa xb xc"
    # the stream carried the same story: thinking deltas, the event, then answer deltas
    items = s.items()
    end_at = next(
        i for i, x in enumerate(items) if isinstance(x, Event) and x.kind == "end_thinking"
    )
    assert all(x.segment != "answer" for x in items[:end_at] if isinstance(x, TokenDelta))
    assert any(isinstance(x, TokenDelta) and x.segment == "answer" for x in items[end_at:])


def test_force_wait_mid_thought(engine):
    s = engine.start(Q, ENDLESS, format="think-tags")
    wait_for_thinking(s, 20)
    s.force_wait()
    r = s.result(60)
    waits = [e for e in r.events if e.kind == "wait"]
    # mid-thought, a user's Wait starts a new word (" ub" + "Wait" is " ub Wait")
    assert [(e.cause, e.text) for e in waits] == [("user", " Wait")]
    after = r.output_ids[waits[0].token_index :]
    assert engine.tokenizer.decode(after[:4]) == " Wait w000 w001"
    assert r.forced_mask[waits[0].token_index : waits[0].token_index + 2] == [True, True]
    assert r.forced_mask[waits[0].token_index + 2] is False


def test_inject_user_text(engine):
    s = engine.start(Q, ENDLESS, format="think-tags")
    wait_for_thinking(s, 5)
    s.inject(" Let me check")
    s.end_thinking()
    r = s.result(60)
    inj = [e for e in r.events if e.kind == "inject"]
    assert [(e.cause, e.text) for e in inj] == [("user", " Let me check")]
    assert " Let me check" in r.thinking


def test_stop_ends_cleanly_and_frees_the_request(engine):
    s = engine.start(Q, ENDLESS, format="think-tags")
    wait_for_thinking(s, 20)
    s.stop()
    r = s.result(60)
    assert r.finish_reason == "stopped"
    assert [e.cause for e in r.events if e.kind == "stop"] == ["user"]
    assert 20 <= r.thinking_tokens < 3000
    deadline = time.monotonic() + 10
    while engine.backend.num_unfinished() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.backend.num_unfinished() == 0


def test_set_budget_while_running(engine):
    s = engine.start(Q, ENDLESS, format="think-tags")
    seen = wait_for_thinking(s, 10)
    s.set_budget(seen + 5)
    r = s.result(60)
    assert seen + 5 >= r.thinking_tokens >= seen
    assert [e.cause for e in r.events if e.kind == "end_thinking"] in (["budget"],)
    assert any(e.kind == "budget_changed" and e.text == str(seen + 5) for e in r.events)


@pytest.mark.parametrize("small_budget", [16])
def test_requests_finish_on_their_own_schedule(vllm_engine, small_budget):
    """A short request is not held back by a long one started before it (no rounds)."""
    big = vllm_engine.start(Q, BudgetPolicy(max_thinking_tokens=2500), format="think-tags")
    wait_for_thinking(big, 5)
    small = vllm_engine.start(
        Q, BudgetPolicy(max_thinking_tokens=small_budget, num_ignore=3), format="s1"
    )
    r_small = small.result(60)
    big_running = not big.done
    r_big = big.result(120)
    assert r_small.thinking_tokens == small_budget
    assert r_big.thinking_tokens == 2500
    assert big_running, "the short request waited for the long one"
    assert r_small.seconds < r_big.seconds / 3
