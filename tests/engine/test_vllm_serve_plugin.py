"""The processor as a plugin of plain `vllm serve` (no s1 code in the server), called with
the openai client: `--logits-processors s1_engine.vllm_plugin:S1BudgetForcing`, the
budget-forcing fields per request in `vllm_xargs`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from s1_engine.backends.vllm import CPU_DEFAULTS
from s1_engine.testing import make_scripted_model

PLUGIN = "s1_engine.vllm_plugin:S1BudgetForcing"
S1_PROMPT = "<|im_start|>user\nWhat is 1+2?<|im_end|>\n<|im_start|>assistant\n<|im_start|>think"
TAGS_PROMPT = "<|im_start|>user\nWhat is 1+2?<|im_end|>\n<|im_start|>assistant\n<think>\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import httpx

    model = make_scripted_model(tmp_path_factory.mktemp("plugin") / "m")
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
        "--port", str(port), "--host", "127.0.0.1", "--max-model-len", "2048",
        "--logits-processors", PLUGIN, "--enforce-eager", "--served-model-name", "m",
        "--gpu-memory-utilization", str(CPU_DEFAULTS["gpu_memory_utilization"]),
        "--max-num-batched-tokens", str(CPU_DEFAULTS["max_num_batched_tokens"]),
    ]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        assert proc.poll() is None, "vllm serve exited"
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    from openai import OpenAI

    yield OpenAI(base_url=url + "/v1", api_key="none")
    proc.terminate()
    proc.wait(30)


def complete(client, prompt: str, **xargs) -> str:
    r = client.completions.create(
        model="m",
        prompt=prompt,
        max_tokens=400,
        temperature=0,
        extra_body={"vllm_xargs": xargs, "skip_special_tokens": False} if xargs else {},
    )
    return r.choices[0].text


def test_budget_waits_and_min_thinking_under_plain_vllm_serve(served):
    text = complete(
        served, TAGS_PROMPT, max_thinking_tokens=37, answer_max_tokens=8, format="think-tags"
    )
    assert "</think>" in text, text
    thinking, answer = text.split("</think>", 1)
    assert len(thinking.split()) == 37  # each scripted word is one token: exactly the budget
    assert answer.startswith("\n\nFinal Answer:")

    text = complete(served, S1_PROMPT, num_ignore=2, max_thinking_tokens=200)
    thinking = text.split("<|im_start|>answer")[0]
    assert thinking.count("Wait") == 2 and thinking.count("w004") == 2  # 2 ends suppressed

    rotate = complete(served, S1_PROMPT, num_ignore=2, ignore_str="Hmm|Wait", format="s1")
    assert rotate.split("<|im_start|>answer")[0].count("Hmm") == 1

    text = complete(served, S1_PROMPT, min_thinking_tokens=25, max_thinking_tokens=200)
    assert len(text.split("<|im_start|>answer")[0].split()) >= 25


def test_a_request_without_the_fields_is_untouched_and_bad_values_are_400(served):
    import openai

    plain = complete(served, S1_PROMPT)  # the model ends at once, as without the plugin
    assert "Wait" not in plain and plain.split()[:9] == [f"t{i:03d}" for i in range(9)]
    assert plain.replace("<|im_end|>", "").endswith("answer xa xb xc")
    with pytest.raises(openai.BadRequestError, match="num_ignore must be a whole number"):
        complete(served, S1_PROMPT, num_ignore="many")
    with pytest.raises(openai.BadRequestError, match="thinking budget"):
        complete(served, S1_PROMPT, max_thinking_tokens="lots")
    with pytest.raises(openai.BadRequestError, match="use s1 serve --backend vllm"):
        complete(served, S1_PROMPT, suppress="Wait|Hmm")
    with pytest.raises(openai.BadRequestError, match="alpha .AlphaOne. does not run inside"):
        complete(served, S1_PROMPT, alpha=0.5)
    with pytest.raises(openai.BadRequestError, match="DEER .deer_threshold. does not run inside"):
        complete(served, S1_PROMPT, deer_threshold=0.95)
