"""The client libraries people use, installed from PyPI (the `dev` extra), against the real
server on the vLLM-CPU engine: the openai SDK's `.stream()` helper, litellm with Anthropic's
`thinking` and a stop list, lm-evaluation-harness's stock `generate_until` with `until`
(`local-chat-completions`), and `llm` streaming from its command line.

The scripted model (s1_engine.testing): in the s1 format it thinks 10 tokens and answers
" xa xb xc"; in the think-tags format it thinks " ua ub uc ..." until its budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import KEY

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm: no fetch at import
MESSAGES = [{"role": "user", "content": "What is 1+2?"}]


def test_openai_stream_helper_accumulates_thinking_events_and_answer(oai, vllm_engine):
    model = vllm_engine.model
    whole = oai.chat.completions.create(
        model=model, messages=MESSAGES, extra_body={"num_ignore": 2}
    )
    texts = []
    with oai.chat.completions.stream(
        model=model, messages=MESSAGES, extra_body={"num_ignore": 2}
    ) as stream:
        for event in stream:
            if event.type == "content.delta":
                texts.append(event.delta)
        final = stream.get_final_completion()
    msg = final.choices[0].message
    assert msg.content == "".join(texts) == whole.choices[0].message.content == "xa xb xc"
    extra = msg.model_extra
    assert extra["reasoning_content"] == extra["reasoning"] == whole.choices[0].message.reasoning
    events = [(e["kind"], e["cause"], e["token_index"]) for e in extra["s1_events"]]
    expected = [
        (e["kind"], e["cause"], e["token_index"]) for e in whole.model_extra["s1"]["events"]
    ]
    assert events == expected and events.count(("wait", "budget", 10)) == 1
    assert final.choices[0].finish_reason == "stop"


def test_litellm_thinking_stop_and_streaming(plain, vllm_engine):
    import litellm

    common = {
        "model": f"hosted_vllm/{vllm_engine.model}",
        "api_base": plain.url + "/v1",
        "api_key": KEY,
        "messages": MESSAGES,
    }
    # Anthropic's thinking: litellm sends it as reasoning_effort ("minimal" under 1,024
    # tokens), which this server maps to 128 tokens by default
    r = litellm.completion(
        **common,
        thinking={"type": "enabled", "budget_tokens": 200},
        max_tokens=3,
        extra_body={"thinking_format": "think-tags"},
    )
    assert r.usage.completion_tokens_details.reasoning_tokens == 128
    assert len(r.choices[0].message.reasoning_content.split()) == 128
    assert r.choices[0].message.content == "Final Answer: xa xb xc"[: len("Final Answer: xa xb xc")]
    r = litellm.completion(**common, stop=[" xc"], drop_params=True)
    assert r.choices[0].message.content == "xa xb"
    assert r.choices[0].finish_reason == "stop"
    reasoning, content = [], []
    for chunk in litellm.completion(**common, stream=True, extra_body={"num_ignore": 1}):
        d = chunk.choices[0].delta
        reasoning.append(getattr(d, "reasoning_content", None) or "")
        content.append(d.content or "")
    assert "".join(content) == "xa xb xc"
    assert "".join(reasoning).count("Wait") == 1


def test_lm_eval_generate_until_with_until(plain, vllm_engine, tmp_path, monkeypatch):
    """lm-evaluation-harness's own path: a generate_until task (a local file, as a task YAML)
    on `local-chat-completions`; its `until` reaches the server as `stop`."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    data = tmp_path / "arith.jsonl"
    rows = [{"question": f"What is {i}+2?", "answer": "xa xb"} for i in range(3)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "s1_arith.yaml").write_text(
        "task: s1_arith\n"
        "dataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\n"
        "output_type: generate_until\n"
        'doc_to_text: "{{question}}"\n'
        'doc_to_target: "{{answer}}"\n'
        "generation_kwargs:\n  until: [' xc']\n  max_gen_toks: 8\n"
        "metric_list:\n  - metric: exact_match\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = lm_eval.simple_evaluate(
        model="local-chat-completions",
        model_args=(
            f"model={vllm_engine.model},base_url={plain.url}/v1/chat/completions,"
            "num_concurrent=1,max_retries=1,tokenized_requests=False"
        ),
        tasks=["s1_arith"],
        task_manager=TaskManager(include_path=str(tmp_path)),
        apply_chat_template=True,
        log_samples=True,
    )
    samples = out["samples"]["s1_arith"]
    assert [s["resps"][0][0] for s in samples] == ["xa xb"] * 3  # cut before " xc"
    assert out["results"]["s1_arith"]["exact_match,none"] == 1.0


def test_llm_cli_streams_with_options(plain, vllm_engine, tmp_path):
    """simonw's `llm`, configured for an OpenAI-compatible server in its
    extra-openai-models.yaml, streaming on its command line."""
    home = tmp_path / "llm"
    home.mkdir()
    (home / "extra-openai-models.yaml").write_text(
        "- model_id: s1\n"
        f"  model_name: {vllm_engine.model}\n"
        f"  api_base: {plain.url}/v1\n"
        "  api_key_name: s1\n"
        "  reasoning: true\n"
    )
    env = dict(os.environ, LLM_USER_PATH=str(home))
    llm = [sys.executable, "-m", "llm"]

    def run(*args: str) -> str:
        p = subprocess.run(
            [*llm, "-m", "s1", "--key", KEY, "--no-log", *args, "What is 1+2?"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()

    assert run() == "xa xb xc"
    assert run("-o", "stop", " xb") == "xa"
    assert run("-o", "reasoning_effort", "none", "-o", "max_tokens", "2") == "Final Answer: xa xb"
    assert Path(home).exists()
