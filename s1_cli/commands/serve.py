"""`s1 serve`: one engine behind an OpenAI-compatible server, with budget forcing and live
control (FastAPI, uvicorn and the engine are imported inside the command)."""

from __future__ import annotations

import sys

import typer

from s1_engine.settings import EngineOptions, PolicyOptions
from s1_serve.settings import ServeOptions

from ..engine import start_engine, stop_engine

HF_ONE_AT_A_TIME = (
    "note: the transformers backend runs one request at a time: concurrent requests take "
    "turns, as slow as in a row; for many clients use --backend vllm (--backend auto takes "
    "it wherever vLLM is installed)"
)


def serve(
    engine: EngineOptions = None,  # type: ignore[assignment]
    policy: PolicyOptions = None,  # type: ignore[assignment]
    server: ServeOptions = None,  # type: ignore[assignment]
) -> None:
    """Serve the model with an OpenAI-compatible API: budget forcing per request, live control.

    The budget-forcing options set the defaults of requests that do not set their own.
    """
    from s1_serve.server import bind, run, url_of

    server.efforts()  # a bad --reasoning-effort fails now
    defaults = policy.policy()
    sock = bind(server.host, server.port)  # a port in use fails now, not after the model loads
    if warning := server.open_warning():
        print(warning, file=sys.stderr)
    # many clients at once: on a CPU-only machine 'auto' takes vLLM, which batches them
    eng = start_engine(engine, "serve", seed=policy.seed, concurrency="many")
    try:
        from s1_serve.app import create_app

        name = server.served_model_name or engine.model or "tiny-s1"
        app = create_app(eng, server.serve_config(defaults, name))
        if eng.backend_name == "hf":
            print(HF_ONE_AT_A_TIME, file=sys.stderr, flush=True)
        print(
            f"s1 serve: {url_of(sock)}/v1 serves {name!r} ({eng.backend_name}, "
            f"{eng.format.name} format, context {eng.max_model_len}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        run(app, sock, log_level=server.log_level)
    finally:
        sock.close()
        stop_engine(eng)  # vLLM takes seconds to stop: a line says so


def register(app: typer.Typer) -> None:
    from ..options import command

    command(
        app,
        "serve",
        epilog="Example: s1 serve --backend vllm --port 8000 --max-thinking-tokens 512 "
        "--num-ignore 1  (then any OpenAI client at http://127.0.0.1:8000/v1)",
    )(serve)
