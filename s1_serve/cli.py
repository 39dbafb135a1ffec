"""`s1 serve`: one engine behind an OpenAI-compatible server, with budget forcing and live control.

FastAPI, uvicorn and the engine are imported inside the command, so `s1 --help` stays instant.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from s1_engine.cli_options import EngineOptions, PolicyOptions, engine_options, policy_options

PANEL_SERVER = "Server"


@engine_options
@policy_options
def serve(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on (0.0.0.0: every interface; give --api-key then).",
            rich_help_panel=PANEL_SERVER,
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="TCP port (0: a free one).", rich_help_panel=PANEL_SERVER)
    ] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="S1_API_KEY",
            help="Every route but /health then needs 'Authorization: Bearer KEY'.",
            rich_help_panel=PANEL_SERVER,
        ),
    ] = None,
    served_model_name: Annotated[
        str | None,
        typer.Option(
            "--served-model-name",
            help="The model's name in /v1/models and requests (default: --model, or tiny-s1).",
            rich_help_panel=PANEL_SERVER,
        ),
    ] = None,
    reasoning_effort: Annotated[
        str,
        typer.Option(
            "--reasoning-effort",
            help="Thinking budgets for OpenAI's reasoning_effort names: NAME=TOKENS|auto,...",
            rich_help_panel=PANEL_SERVER,
        ),
    ] = "none=0,low=512,medium=2048,high=8192",
    max_request_bytes: Annotated[
        int,
        typer.Option(
            "--max-request-bytes",
            help="Largest request body accepted (413 above).",
            rich_help_panel=PANEL_SERVER,
        ),
    ] = 1 << 20,
    max_prompt_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-prompt-tokens",
            help="Longest prompt accepted (default: the context less one token).",
            rich_help_panel=PANEL_SERVER,
        ),
    ] = None,
    stream_interval: Annotated[
        float,
        typer.Option(
            "--stream-interval",
            help="Seconds between two chunks of a stream once its text flows (0: every token).",
            rich_help_panel=PANEL_SERVER,
        ),
    ] = 0.05,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            help="uvicorn's log level (info logs every request).",
            rich_help_panel=PANEL_SERVER,
        ),
    ] = "warning",
    engine_opts: EngineOptions = None,  # type: ignore[assignment]
    policy_opts: PolicyOptions = None,  # type: ignore[assignment]
) -> None:
    """Serve the model with an OpenAI-compatible API: budget forcing per request, live control.

    The budget-forcing options set the defaults of requests that do not set their own.
    """
    from s1_engine.errors import S1Error

    from .plan import parse_effort_budgets

    efforts = parse_effort_budgets(reasoning_effort)
    policy = policy_opts.policy()
    if max_request_bytes < 1024:
        raise S1Error(f"--max-request-bytes {max_request_bytes} is too small", "give at least 1024")
    if max_prompt_tokens is not None and max_prompt_tokens < 1:
        raise S1Error(f"--max-prompt-tokens must be >= 1, got {max_prompt_tokens}", "e.g. 8192")
    if not 0 <= stream_interval <= 10:
        raise S1Error(
            f"--stream-interval must be in [0, 10] seconds, got {stream_interval}", "e.g. 0.05"
        )
    if log_level.lower() not in ("critical", "error", "warning", "info", "debug", "trace"):
        raise S1Error(f"unknown --log-level {log_level!r}", "use warning, info or debug")

    from .server import bind, run, url_of

    sock = bind(host, port)  # a port in use fails now, not after the model has loaded
    if not api_key and host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: listening on {host} with no --api-key: anyone who can reach this "
            "port can run the model",
            file=sys.stderr,
        )
    engine = engine_opts.build(seed=policy_opts.seed)
    try:
        from .app import ServeConfig, create_app

        name = served_model_name or engine_opts.model or "tiny-s1"
        app = create_app(
            engine,
            ServeConfig(
                served_model_name=name,
                api_key=api_key,
                default_policy=policy,
                effort_budgets=efforts,
                max_body_bytes=max_request_bytes,
                max_prompt_tokens=max_prompt_tokens,
                stream_interval=stream_interval,
            ),
        )
        print(
            f"s1 serve: {url_of(sock)}/v1 serves {name!r} ({engine.backend_name}, "
            f"{engine.format.name} format, context {engine.max_model_len}); Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        run(app, sock, log_level=log_level.lower())
    finally:
        sock.close()
        engine.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
