"""`s1 serve` as a user runs it: a subprocess (transformers backend: one vLLM engine at a
time is the rule here), called with the openai client, stopped with Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest


def ctrl_c_reaches_it() -> None:
    """In the child: Ctrl-C (SIGINT) acts, even when this suite runs in the background
    (a shell starts background jobs with SIGINT ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


S1 = [sys.executable, "-m", "s1_cli.main"]


def run_s1(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*S1, *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )


@pytest.fixture(scope="module")
def served(tiny_model):
    """`s1 serve` on a free port, with a key and server-side defaults; yields its URL."""
    proc = subprocess.Popen(
        [
            *S1,
            "serve",
            "--model",
            str(tiny_model),
            "--backend",
            "hf",
            "--port",
            "0",
            "--num-ignore",
            "1",
            "--reasoning-effort",
            "low=4,high=auto",
            "--max-prompt-tokens",
            "40",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "S1_API_KEY": "k3y"},
        preexec_fn=ctrl_c_reaches_it,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True).start()
    deadline, url, seen = time.monotonic() + 180, None, []
    while url is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        if m := re.match(r"s1 serve: (http://127\.0\.0\.1:\d+)/v1 serves ", line):
            url = m.group(1)
    assert url, "".join(seen)
    # said before the banner: hf serves one request at a time (vLLM batches them)
    assert any(
        x.startswith("note: the transformers backend runs one request at a time") for x in seen
    )
    yield proc, url, seen[-1]
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def test_serve_command(served, tiny_model):
    import openai

    proc, url, banner = served
    assert f"serves {str(tiny_model)!r} (hf, s1 format, context 4096)" in banner
    oai = openai.OpenAI(base_url=url + "/v1", api_key="k3y", max_retries=0)
    r = oai.chat.completions.create(
        model=str(tiny_model), messages=[{"role": "user", "content": "What is 1+2?"}]
    )
    # the server's --num-ignore 1 is the default of a request that sets nothing
    assert r.usage.completion_tokens_details.reasoning_tokens == 16
    assert r.choices[0].message.content == "xa xb xc"
    r = oai.chat.completions.create(
        model=str(tiny_model),
        messages=[{"role": "user", "content": "What is 1+2?"}],
        reasoning_effort="low",
    )
    assert r.usage.completion_tokens_details.reasoning_tokens == 4
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(
            model=str(tiny_model), messages=[{"role": "user", "content": "What is 1+2? " * 9}]
        )
    assert re.fullmatch(
        r"the prompt has \d\d tokens but at most 40 fit \(this server takes prompts of at most "
        r"40 tokens\); shorten the prompt",
        e.value.body["message"],
    )
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="nope", max_retries=0).models.list()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0


def test_port_in_use_fails_at_once():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        t = time.monotonic()
        r = run_s1("serve", "--port", str(port), "--backend", "hf")
    assert r.returncode == 2
    assert re.fullmatch(
        rf"error: cannot listen on 127\.0\.0\.1:{port}: .+ \(pick another --port, or stop what "
        r"holds this one\)\n",
        r.stderr,
    ), r.stderr
    assert time.monotonic() - t < 30  # before any model is loaded


@pytest.mark.parametrize(
    "args, message",
    [
        (["--reasoning-effort", "low"], "cannot read the reasoning-effort budget 'low'"),
        (["--reasoning-effort", "low=lots"], "cannot read the thinking budget 'lots'"),
        (["--max-request-bytes", "10"], "--max-request-bytes must be >= 1024, got 10"),
        (["--log-level", "loud"], "--log-level must be one of critical, error, warning"),
        (["--stream-interval", "-1"], "--stream-interval must be >= 0"),
    ],
)
def test_bad_options_are_one_line(args, message):
    r = run_s1("serve", "--backend", "hf", *args)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {message}") and r.stderr.count("\n") == 1, r.stderr


def test_clients_of_a_starting_server_wait_instead_of_being_refused():
    """The banner comes before uvicorn runs: the socket already listens, so a client that
    connects in between waits in the backlog."""
    from s1_serve.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        with socket.create_connection(sock.getsockname()[:2], timeout=5):
            pass
    finally:
        sock.close()
