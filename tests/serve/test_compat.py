"""What clients send and read (issue 23): stop strings, every reasoning-effort name, the
thinking fields of Anthropic, Gemini, llama.cpp and vLLM, both reasoning field names,
GET /v1/models/{id}, errors in the OpenAI shape, x-request-id, the engine's own validation,
bare completion prompts, forced text that starts a new word. Real server, vLLM-CPU engine.

The scripted model (s1_engine.testing): in the s1 format it thinks 10 tokens, then tries
to end; its answer is " xa xb xc". In the think-tags format it thinks " ua ub uc ..." and
never ends by itself, so its thinking tokens are the budget exactly.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from s1_engine.budget import thinking_budget

from .conftest import KEY

MESSAGES = [{"role": "user", "content": "What is 1+2?"}]
TAGS = {"thinking_format": "think-tags"}


def post(server, path="/v1/chat/completions", **body):
    if path.endswith("chat/completions"):
        body.setdefault("messages", MESSAGES)
    return httpx.post(
        server.url + path, json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=60
    )


def lines(server, **body):
    """The JSON chunks of a streamed chat request."""
    body = {"messages": MESSAGES, "stream": True, **body}
    out = []
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, headers=headers) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                out.append(json.loads(line[6:]))
    return out


def reasoning_tokens(r: httpx.Response) -> int:
    assert r.status_code == 200, r.text
    return r.json()["usage"]["completion_tokens_details"]["reasoning_tokens"]


# ----- stop -------------------------------------------------------------------------------
def test_stop_ends_the_answer_where_the_string_begins(server):
    r = post(server, stop=[" xc", "zz"]).json()
    c = r["choices"][0]
    assert c["message"]["content"] == "xa xb"
    assert (c["finish_reason"], c["stop_reason"]) == ("stop", " xc")
    assert r["s1"]["finish_reason"] == "stop" and r["s1"]["stop_reason"] == " xc"
    assert "Wait" not in c["message"]["reasoning_content"]  # the thinking is not cut
    # streamed: the same text, the string straddling two tokens held back, then stopped
    chunks = lines(server, stop=" xc")
    text = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks if ch["choices"])
    assert text == "xa xb"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"][0]["stop_reason"] == " xc"
    # a stop string never met changes nothing, and a held-back tail is given back at the end
    whole = post(server, stop=["xc!"]).json()["choices"][0]
    assert (whole["message"]["content"], whole["finish_reason"]) == ("xa xb xc", "stop")
    streamed = lines(server, stop=["xc!"])
    assert "".join(ch["choices"][0]["delta"].get("content") or "" for ch in streamed) == "xa xb xc"
    assert "stop_reason" not in whole


def test_stop_on_the_completions_route(server):
    r = post(server, "/v1/completions", prompt="What is 1+2?<|im_start|>think", stop=["xb"])
    assert r.json()["choices"][0]["text"] == "xa "


# ----- the thinking fields of other APIs --------------------------------------------------
@pytest.mark.parametrize(
    "fields, budget",
    [
        ({"reasoning_effort": "none"}, 0),
        ({"reasoning_effort": "minimal"}, 128),
        ({"reasoning_effort": "low"}, 512),
        ({"thinking": {"type": "enabled", "budget_tokens": 9}}, 9),  # Anthropic
        ({"thinking": {"type": "disabled"}}, 0),
        ({"thinking_config": {"thinking_budget": 11}}, 11),  # Gemini
        ({"google": {"thinking_config": {"thinking_budget": 12}}}, 12),
        ({"extra_body": {"google": {"thinking_config": {"thinking_budget": 13}}}}, 13),
        ({"thinking_budget_tokens": 6}, 6),  # llama.cpp
        ({"chat_template_kwargs": {"enable_thinking": False}}, 0),  # vLLM / Qwen3
    ],
)
def test_thinking_fields_of_other_apis(plain, fields, budget):
    r = post(plain, max_tokens=3, **TAGS, **fields)
    assert reasoning_tokens(r) == budget
    assert r.json()["s1"]["budget"] == budget


def test_the_largest_effort_is_all_the_context(plain, vllm_engine):
    r = post(plain, reasoning_effort="xhigh", max_tokens=3, **TAGS)
    prompt = r.json()["usage"]["prompt_tokens"]
    fmt = vllm_engine.bound_format("think-tags")
    assert reasoning_tokens(r) == thinking_budget("auto", 4096, prompt, fmt, 3) > 3000
    r = post(plain, thinking_config={"thinking_budget": -1}, max_tokens=3, **TAGS)
    assert reasoning_tokens(r) > 3000  # Gemini's -1: the model decides, all it may


def test_include_thoughts_false_leaves_the_thinking_out(plain):
    r = post(plain, thinking_config={"thinking_budget": 4, "include_thoughts": False}, **TAGS)
    msg = r.json()["choices"][0]["message"]
    assert "reasoning" not in msg and "reasoning_content" not in msg
    assert reasoning_tokens(r) == 4


def test_adaptive_thinking_and_enable_thinking_keep_the_default(plain):
    for fields in (
        {"thinking": {"type": "adaptive"}},
        {"chat_template_kwargs": {"enable_thinking": True}},
    ):
        r = post(plain, max_thinking_tokens=14, max_tokens=3, **TAGS, **fields)
        assert reasoning_tokens(r) == 14


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"thinking": {"type": "enabled"}}, "thinking.type 'enabled' needs thinking.budget_tokens"),
        ({"thinking": {"type": "on"}}, "thinking.type"),
        ({"thinking": {"type": "adaptive", "budget_tokens": 5}}, "takes no budget_tokens"),
        ({"thinking_config": {"thinking_budget": -2}}, "thinking_config.thinking_budget"),
        ({"chat_template_kwargs": {"tools": []}}, "unknown field 'chat_template_kwargs.tools'"),
        (
            {"chat_template_kwargs": {"enable_thinking": True}, "reasoning_effort": "none"},
            "chat_template_kwargs.enable_thinking is true but reasoning_effort=none sets no",
        ),
        ({"thinking_budget_tokens": 5, "max_thinking_tokens": 6}, "thinking budget is given twice"),
        ({"reasoning_effort": "max"}, "unknown reasoning_effort 'max' (this server knows: none,"),
        ({"stream_options": {"include_obfuscation": True}, "stream": True}, "include_obfuscation"),
        ({"tool_choice": "required"}, "tool_choice is not supported"),
        (
            {"temperature": 3},
            "the engine (vLLM) refuses this request: temperature must be in [0, 2]",
        ),
    ],
)
def test_refused_with_one_line(plain, fields, message):
    r = post(plain, **fields)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert message in err["message"] and "\n" not in err["message"]


# ----- what comes back --------------------------------------------------------------------
def test_both_reasoning_names_in_messages_and_deltas(server):
    msg = post(server, num_ignore=1).json()["choices"][0]["message"]
    assert msg["reasoning"] == msg["reasoning_content"] and "Wait" in msg["reasoning"]
    chunks = lines(server, num_ignore=1)
    deltas = [ch["choices"][0]["delta"] for ch in chunks if ch["choices"]]
    assert all(d.get("reasoning") == d.get("reasoning_content") for d in deltas)
    assert "".join(d.get("reasoning") or "" for d in deltas) == msg["reasoning"]
    events = [e for d in deltas for e in d.get("s1_events", [])]
    assert [e["index"] for e in events] == list(range(len(events)))  # what SDK helpers merge on


def test_continuous_usage_counts_on_every_chunk(server):
    chunks = lines(
        server, max_thinking_tokens=12, stream_options={"continuous_usage_stats": True}, **TAGS
    )
    counts = [ch["usage"]["completion_tokens"] for ch in chunks if ch["choices"]]
    assert len(counts) > 2 and counts == sorted(counts)
    assert chunks[-1]["usage"]["completion_tokens"] == counts[-1]  # the closing usage chunk
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == 12


def test_a_bare_completion_prompt_gets_the_thinking_start(server):
    r = post(server, "/v1/completions", prompt="What is 1+2?", max_thinking_tokens=5, **TAGS).json()
    c = r["choices"][0]
    assert r["s1"]["thinking_start_added"] is True
    assert r["usage"]["completion_tokens_details"]["reasoning_tokens"] == 5
    assert c["text"] == "Final Answer: xa xb xc" and "</think>" not in c["text"]
    assert len(c["reasoning_content"].split()) == 5
    r = post(
        server, "/v1/completions", prompt="What is 1+2?<think>\n", max_thinking_tokens=5, **TAGS
    )
    assert "thinking_start_added" not in r.json()["s1"]


def test_models_by_id(server, oai, vllm_engine):
    assert oai.models.retrieve(vllm_engine.model).id == vllm_engine.model
    r = httpx.get(server.url + "/v1/models/gpt-4o", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_every_error_is_in_the_openai_shape(server):
    auth = {"Authorization": f"Bearer {KEY}"}
    for method, path, status, words in [
        ("GET", "/v1/nothing", 404, "no route GET /v1/nothing"),
        ("POST", "/v1/models", 405, "/v1/models does not take POST (use GET)"),
        ("GET", "/v1/chat/completions", 405, "does not take GET (use POST)"),
    ]:
        r = httpx.request(method, server.url + path, headers=auth)
        assert r.status_code == status, r.text
        err = r.json()["error"]
        assert words in err["message"] and set(err) == {"message", "type", "param", "code"}


def test_request_ids(server):
    auth = {"Authorization": f"Bearer {KEY}"}
    r = httpx.get(server.url + "/v1/models", headers={**auth, "x-request-id": "mine-42"})
    assert r.headers["x-request-id"] == "mine-42"
    a = httpx.get(server.url + "/v1/models", headers=auth).headers["x-request-id"]
    b = httpx.get(server.url + "/health").headers["x-request-id"]
    assert re.fullmatch(r"req-[0-9a-f]{32}", a) and a != b
    assert "x-request-id" in httpx.get(server.url + "/v1/models").headers  # a 401 too
    body = {"messages": MESSAGES, "stream": True, "max_thinking_tokens": 3}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, headers=auth) as r:
        assert r.headers["x-request-id"].startswith("req-")


def test_forced_text_starts_a_new_word(server):
    """A user's Wait in the middle of thinking is set off from the word before it."""
    body = {"messages": MESSAGES, "stream": True, "max_thinking_tokens": 3000, **TAGS}
    auth = {"Authorization": f"Bearer {KEY}"}
    reasoning, events = [], []
    with httpx.Client(base_url=server.url, headers=auth, timeout=60) as c:
        with c.stream("POST", "/v1/chat/completions", json=body) as r:
            asked = False
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                ch = json.loads(line[6:])
                d = ch["choices"][0]["delta"] if ch["choices"] else {}
                reasoning.append(d.get("reasoning_content") or "")
                events += d.get("s1_events", [])
                if not asked and len("".join(reasoning).split()) >= 5:
                    ok = c.post(f"/v1/requests/{ch['id']}/control", json={"action": "force_wait"})
                    assert ok.status_code == 200
                    c.post(f"/v1/requests/{ch['id']}/control", json={"action": "end_thinking"})
                    asked = True
    thinking = "".join(reasoning)
    [wait] = [e for e in events if e["kind"] == "wait"]
    assert wait["text"] == " Wait" and " Wait" in thinking
    assert not re.search(r"\SWait", thinking)
