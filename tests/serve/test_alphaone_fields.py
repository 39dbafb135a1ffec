"""s1 serve's AlphaOne fields (`alpha`, `alpha_p`) on the real server and the real vLLM-CPU
engine: in the s1 format the scripted model thinks 10 tokens, then tries to end."""

from __future__ import annotations

import pytest

from s1_engine import BudgetPolicy

from .conftest import wait_idle

MESSAGES = [{"role": "user", "content": "What is 1+2?"}]


def post(http, **fields):
    return http.post("/v1/chat/completions", json={"messages": MESSAGES, **fields})


def ends(body) -> list[tuple]:
    return [
        (e["cause"], e["token_index"], e["text"])
        for e in body["s1"]["events"]
        if e["kind"] == "end_thinking"
    ]


def test_the_server_reads_alpha_and_alpha_p():
    from s1_serve.plan import plan_request
    from s1_serve.schema import ChatRequest

    req = ChatRequest.model_validate({"messages": MESSAGES, "alpha": 0.25, "alpha_p": 0.5})
    p = plan_request(req, BudgetPolicy(), {}).policy
    assert (p.alpha, p.alpha_p) == (0.25, 0.5)
    nested = ChatRequest.model_validate({"messages": MESSAGES, "extra_body": {"alpha": 1}})
    assert plan_request(nested, BudgetPolicy(), {}).policy.alpha == 1.0
    plain = ChatRequest.model_validate({"messages": MESSAGES})
    assert plan_request(plain, BudgetPolicy(), {}).policy.alpha == 0.0


def test_alpha_makes_the_end_past_the_moment_the_policys(http, vllm_engine, server):
    """Budget 20, alpha 0.25: the moment at 5, the model's end at 10 is the policy's (with
    the answer lead-in); at 0.75 it stays the model's."""
    r = post(http, max_thinking_tokens=20, alpha=0.25)
    assert r.status_code == 200, r.text
    body = r.json()
    assert ends(body) == [("policy", 10, "")]
    assert body["choices"][0]["message"]["content"].startswith("Final Answer:")
    r = post(http, max_thinking_tokens=20, alpha=0.75, alpha_p=0.5)
    assert ends(r.json()) == [("model", 10, "")]
    assert wait_idle(vllm_engine, server)[0] == 0


@pytest.mark.parametrize(
    "fields, message",
    [({"alpha": 1.4}, "alpha"), ({"alpha_p": -1}, "alpha_p"), ({"alpha": "x"}, "alpha")],
)
def test_bad_alpha_values_are_one_line_400s(http, fields, message):
    r = post(http, **fields)
    assert r.status_code == 400, r.text
    err = r.json()["error"]["message"]
    assert message in err and "\n" not in err
