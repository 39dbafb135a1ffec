"""Budget forcing inside vLLM's step loop (s1_engine.vllm_plugin + s1_engine.inengine):
the same tokens, events and forced mask as the continuation path, in one engine request;
the end decision's distribution under sampling; live interventions without new requests."""

from __future__ import annotations

import math
import time

import pytest

from s1_engine import BudgetPolicy, SamplingConfig
from s1_engine.inengine import InEngineSession
from s1_engine.testing import make_scripted_model

Q = "What is 1+2?"


def _same(a, b) -> None:
    assert a.output_ids == b.output_ids
    assert [(e.kind, e.cause, e.token_index, e.text) for e in a.events] == [
        (e.kind, e.cause, e.token_index, e.text) for e in b.events
    ]
    assert a.forced_mask == b.forced_mask and a.segments == b.segments
    assert (a.finish_reason, a.thinking_tokens, a.answer_tokens, a.thinking, a.answer) == (
        b.finish_reason,
        b.thinking_tokens,
        b.answer_tokens,
        b.thinking,
        b.answer,
    )


class Counting:
    """Counts the backend requests an engine makes (wraps the real backend's generate)."""

    def __init__(self, backend) -> None:
        self.backend, self.calls, self._real = backend, 0, backend.generate

    def __enter__(self):
        def generate(request):
            self.calls += 1
            return self._real(request)

        self.backend.generate = generate
        return self

    def __exit__(self, *exc) -> None:
        self.backend.generate = self._real


POLICIES = [
    BudgetPolicy(max_thinking_tokens=b, num_ignore=k, min_thinking_tokens=mn, answer_max_tokens=a)
    for b in (7, 23, "auto")
    for k in (0, 3)
    for mn in (0, 21)
    for a in (2, 16)
] + [
    BudgetPolicy(max_thinking_tokens=40, num_ignore=4, ignore_str=("Wait", "Hmm", "Okay")),
    BudgetPolicy(max_thinking_tokens=40, num_ignore=2, ignore_str=()),  # no string
    BudgetPolicy(max_thinking_tokens=13, num_ignore=5),  # the ignore string no longer fits
]


@pytest.mark.parametrize("live", [False, True])
def test_greedy_tokens_events_and_mask_equal_the_continuation_path(vllm_engine, live):
    for policy in POLICIES:
        with Counting(vllm_engine.backend) as n:
            s = vllm_engine.start(Q, policy, live=live, in_engine=True)
            assert isinstance(s, InEngineSession)
            inside = s.result(120)
        assert n.calls == 1, policy.label()  # one request, Waits and all
        outside = vllm_engine.start(Q, policy, live=live, in_engine=False).result(120)
        _same(inside, outside)
    # the s1 paper's exact counts: 3 suppressed ends, then the model's own
    r = vllm_engine.start(Q, BudgetPolicy(max_thinking_tokens=100, num_ignore=3)).result(60)
    assert [e.kind for e in r.events].count("wait") == 3 and r.thinking_tokens == 10 + 3 * 6


def test_a_batch_of_mixed_policies_equals_the_continuation_path(vllm_engine):
    """All at once: rows enter, leave and change plans in one batch of the engine."""
    policies = POLICIES * 2
    inside = [vllm_engine.start(Q, p, live=i % 3 == 0) for i, p in enumerate(policies)]
    outside = [vllm_engine.start(Q, p, live=False, in_engine=False) for p in policies]
    assert all(isinstance(s, InEngineSession) for s in inside)
    for a, b in zip(inside, outside):
        _same(a.result(120), b.result(120))


def test_think_tags_format_and_budget_cut_are_exact(vllm_engine):
    for budget in (1, 17, 64):
        policy = BudgetPolicy(max_thinking_tokens=budget, answer_max_tokens=2)
        with Counting(vllm_engine.backend) as n:
            r = vllm_engine.start(Q, policy, format="think-tags", live=False).result(60)
        assert n.calls == 1 and r.thinking_tokens == budget
        assert [(e.kind, e.cause) for e in r.events][1] == ("end_thinking", "budget")
        assert r.answer == "Final Answer: xa xb" and r.finish_reason == "length"
        ref = vllm_engine.start(Q, policy, format="think-tags", in_engine=False).result(60)
        _same(r, ref)


def test_policies_the_processor_cannot_run_take_the_continuation_path(vllm_engine):
    top_p = BudgetPolicy(thinking=SamplingConfig(0.7, top_p=0.9), answer=SamplingConfig(0.7, 0.9))
    differs = BudgetPolicy(thinking=SamplingConfig(0.5), answer=SamplingConfig(0.0))
    for policy in (top_p, differs):
        assert not isinstance(vllm_engine.start(Q, policy, paused=True), InEngineSession)


def test_live_interventions_need_no_new_request(vllm_engine):
    endless = BudgetPolicy(max_thinking_tokens=3000, answer_max_tokens=8)
    with Counting(vllm_engine.backend) as n:
        s = vllm_engine.start(Q, endless, format="think-tags")
        _until(s, 30)
        s.inject(" Let me check\n")
        _until(s, s.state.thinking_tokens + 10)
        s.force_wait(" Hmm, again\n")  # a line break: the model cycles on after it
        _until(s, s.state.thinking_tokens + 3)
        budget = s.state.thinking_tokens + 40
        s.set_budget(budget)
        r = s.result(60)
    assert n.calls == 1
    kinds = [(e.kind, e.cause) for e in r.events]
    assert ("inject", "user") in kinds and ("wait", "user") in kinds
    assert ("budget_changed", "user") in kinds and kinds[-2] == ("end_thinking", "budget")
    assert r.thinking_tokens == budget and " Let me check\n" in r.thinking
    inject = next(e for e in r.events if e.kind == "inject")
    ids = r.output_ids[inject.token_index : inject.token_index + 4]
    assert (
        r.forced_mask[inject.token_index]
        and ids == vllm_engine.tokenizer.encode(" Let me check\n", add_special_tokens=False)[:4]
    )

    s = vllm_engine.start(Q, endless, format="think-tags")
    _until(s, 20)
    s.end_thinking()
    r = s.result(60)
    assert [(e.kind, e.cause) for e in r.events][1] == ("end_thinking", "user")
    assert r.answer == "Final Answer: xa xb xc"

    s = vllm_engine.start(Q, endless, format="think-tags")
    _until(s, 20)
    s.stop()
    r = s.result(60)
    assert r.finish_reason == "stopped" and _idle(vllm_engine)


def test_wait_at_the_next_end_and_a_wait_after_the_answer(vllm_engine):
    s = vllm_engine.start(Q, BudgetPolicy(max_thinking_tokens=100), paused=True)
    s.force_wait(now=False)  # before the first token: the model's first end becomes a Wait
    s.begin()
    r = s.result(60)
    assert [(e.kind, e.cause, e.token_index) for e in r.events][1] == ("wait", "user", 10)
    s.force_wait()  # after the answer: thinking reopens (a continuation: the request is over)
    r = s.result(60)
    assert [e.kind for e in r.events].count("wait") == 2 and r.answer == "xa xb xc"


def test_a_control_that_reaches_the_processor_before_its_request(vllm_engine):
    """While another request keeps the engine stepping, the processor reads a paused
    session's control before that session's request joins the batch: the control waits
    for its row, and the session must still learn where it took effect."""
    endless = BudgetPolicy(max_thinking_tokens=100000, answer_max_tokens=8)
    busy = vllm_engine.start(Q, endless, format="think-tags")
    _until(busy, 5)
    results = []
    for _ in range(3):
        s = vllm_engine.start(Q, BudgetPolicy(max_thinking_tokens=100), paused=True)
        s.force_wait(now=False)
        s.begin()
        results.append(s.result(60))
    busy.stop()
    busy.result(60)
    for r in results:
        assert [(e.kind, e.cause, e.token_index) for e in r.events][1] == ("wait", "user", 10)
        assert r.finish_reason != "error"


def _until(s, n: int, timeout: float = 30) -> None:
    end = time.time() + timeout
    while s.state.thinking_tokens < n:
        assert time.time() < end and not s.done, f"thinking never reached {n}"
        time.sleep(0.005)


def _idle(engine, timeout: float = 10) -> bool:
    end = time.time() + timeout
    while engine.num_unfinished() and time.time() < end:
        time.sleep(0.05)
    return engine.num_unfinished() == 0


# ----- sampling: the end decision keeps s1's distribution --------------------------------
@pytest.fixture(scope="module")
def coin_engine(tmp_path_factory):
    """A model that, after its first thinking step, tries to end with probability 0.3."""
    from s1_engine import Engine

    path = make_scripted_model(tmp_path_factory.mktemp("coin"), end_prob=0.3, dtype="float32")
    engine = Engine(str(path), backend="vllm", max_model_len=512)
    yield engine
    engine.close()


@pytest.mark.parametrize("num_ignore", [0, 1])
def test_end_attempts_are_drawn_with_the_models_probability(coin_engine, num_ignore):
    n, p = 400, 0.3
    sampling = SamplingConfig(temperature=1.0)
    policy = BudgetPolicy(
        max_thinking_tokens=64, num_ignore=num_ignore, thinking=sampling, answer=sampling
    )
    results = {}
    for in_engine in (True, False):
        rs = coin_engine.generate_many([Q] * n, policy) if in_engine else None
        if rs is None:
            sessions = [coin_engine.start(Q, policy, live=False, in_engine=False) for _ in range(n)]
            rs = [s.result(120) for s in sessions]
        if num_ignore:  # the first end (suppressed): at token 1, or at the end of the chain
            first = [next(e.token_index for e in r.events if e.kind == "wait") for r in rs]
        else:  # accepted: thinking is 1 token long, or the whole chain
            first = [r.thinking_tokens for r in rs]
        assert set(first) <= {1, 10}
        results[in_engine] = sum(f == 1 for f in first) / n
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(results[True] - p) < 4 * sigma, results  # 4 sigma: fails 1 run in ~16,000
    assert abs(results[False] - p) < 4 * sigma, results
