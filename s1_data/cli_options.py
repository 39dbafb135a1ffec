"""(Legacy, for `s1 curate` until it moves to s1_cli.options.) The options every command shares (model, backend, budget forcing, sampling).

Front ends add them to a Typer command with `@engine_options` / `@policy_options`;
the decorated function receives one `EngineOptions` / `PolicyOptions` object instead
of a dozen parameters. Policy options are kept as text so `s1 eval` can read lists
("512,1024,auto") with the same flags `s1 generate` reads single values with.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import fields
from typing import Annotated, Any

import typer

from s1_engine.backends import AUTO_HELP
from s1_engine.settings import EngineOptions

PANEL_ENGINE = "Model and engine"
PANEL_POLICY = "Budget forcing and sampling"


ENGINE_PARAMS = [
    (
        "model",
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Model folder or hub id (default: the embedded tiny s1 model).",
            rich_help_panel=PANEL_ENGINE,
        ),
    ),
    (
        "backend",
        str,
        typer.Option(
            "--backend",
            help=f"auto | vllm | hf ({AUTO_HELP}).",
            rich_help_panel=PANEL_ENGINE,
        ),
    ),
    (
        "format",
        str,
        typer.Option(
            "--format",
            help="Thinking format: auto | s1 | think-tags.",
            rich_help_panel=PANEL_ENGINE,
        ),
    ),
    (
        "dtype",
        str,
        typer.Option(
            "--dtype", help="auto | bfloat16 | float16 | float32.", rich_help_panel=PANEL_ENGINE
        ),
    ),
    (
        "max_model_len",
        int | None,
        typer.Option(
            "--max-model-len",
            help="Context length (vLLM engine argument).",
            rich_help_panel=PANEL_ENGINE,
        ),
    ),
    (
        "tensor_parallel_size",
        int | None,
        typer.Option(
            "--tensor-parallel-size", help="vLLM tensor parallelism.", rich_help_panel=PANEL_ENGINE
        ),
    ),
    (
        "data_parallel_size",
        int | None,
        typer.Option(
            "--data-parallel-size", help="vLLM data parallelism.", rich_help_panel=PANEL_ENGINE
        ),
    ),
    (
        "gpu_memory_utilization",
        float | None,
        typer.Option(
            "--gpu-memory-utilization", help="vLLM memory share.", rich_help_panel=PANEL_ENGINE
        ),
    ),
    (
        "engine_arg",
        list[str] | None,
        typer.Option(
            "--engine-arg",
            help="Any vLLM engine argument, KEY=VALUE (repeatable).",
            rich_help_panel=PANEL_ENGINE,
        ),
    ),
    (
        "verbose",
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Show the engine's own logs on the terminal (else: a log file in the data dir).",
            rich_help_panel=PANEL_ENGINE,
        ),
    ),
]


def _add_options(
    params: list[tuple[str, Any, Any]], cls: type, target: str, **overrides: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    defaults = {f.name: f.default for f in fields(cls)} | overrides

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func, eval_str=True)
        keep = [p for p in sig.parameters.values() if p.name != target]
        added = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=defaults[name],
                annotation=Annotated[typ, opt],
            )
            for name, typ, opt in params
        ]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name, _, _ in params if name in kwargs}
            kwargs[target] = cls(**values)
            return func(*args, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=keep + added)  # type: ignore[attr-defined]
        return wrapper

    return decorate


engine_options = _add_options(ENGINE_PARAMS, EngineOptions, "engine_opts")
