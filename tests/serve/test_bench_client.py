"""bench/serve/serve.py's client process takes a command of any size: 256 streams' request bodies
in one line (past asyncio's default 64 KiB line limit, where it used to die), run against
the real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "serve" / "serve.py"


def test_256_streams_in_one_command(vllm_engine):
    from s1_serve import ServeConfig, ServerThread, create_app

    question = "What is 1+2? " * 20
    bodies = [
        {
            "messages": [{"role": "user", "content": f"{i}: {question}"}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_thinking_tokens": 2,
            "answer_max_tokens": 1,
            "thinking_format": "think-tags",
        }
        for i in range(256)
    ]
    with ServerThread(create_app(vllm_engine, ServeConfig())) as server:  # no key, as the bench
        command = json.dumps({"url": server.url, "route": "/v1/chat/completions", "bodies": bodies})
        assert len(command) > 1 << 16
        out, err, code = _run_worker(command)
    assert code == 0, err[-2000:]
    result = json.loads(out.splitlines()[0])
    assert len(result["streams"]) == 256
    assert all(s["tokens"] > 0 and s["ttft"] is not None for s in result["streams"])


def _run_worker(command: str) -> tuple[str, str, int]:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH), "--client-worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.communicate(command + "\n", timeout=300)
    return out, err, proc.returncode
