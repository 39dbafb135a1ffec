"""The options every command shares (model, backend, budget forcing, sampling).

Front ends add them to a Typer command with `@engine_options` / `@policy_options`;
the decorated function receives one `EngineOptions` / `PolicyOptions` object instead
of a dozen parameters. Policy options are kept as text so `s1 eval` can read lists
("512,1024,auto") with the same flags `s1 generate` reads single values with.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Annotated, Any

import typer

from .backends import AUTO_HELP
from .errors import S1Error
from .policy import BudgetPolicy, SamplingConfig, parse_budget, parse_ignore_str

PANEL_ENGINE = "Model and engine"
PANEL_POLICY = "Budget forcing and sampling"


@dataclass
class EngineOptions:
    model: str | None = None
    backend: str = "auto"
    format: str = "auto"
    dtype: str = "auto"
    max_model_len: int | None = None
    tensor_parallel_size: int | None = None
    data_parallel_size: int | None = None
    gpu_memory_utilization: float | None = None
    engine_arg: list[str] | None = None
    verbose: bool = False

    def engine_args(self) -> dict[str, Any]:
        """vLLM engine arguments, passed through unchanged."""
        args: dict[str, Any] = {}
        for key in ("tensor_parallel_size", "data_parallel_size", "gpu_memory_utilization"):
            value = getattr(self, key)
            if value is not None:
                args[key] = value
        for item in self.engine_arg or []:
            if "=" not in item:
                raise S1Error(f"cannot read --engine-arg {item!r}", "write it as KEY=VALUE")
            key, raw = item.split("=", 1)
            args[key.strip().replace("-", "_")] = _literal(raw.strip())
        return args

    def build(self, seed: int = 0, workload: str = "live", log: Any = None) -> Any:
        from .engine import Engine

        return Engine(
            self.model,
            backend=self.backend,
            format=self.format,
            dtype=self.dtype,
            max_model_len=self.max_model_len,
            seed=seed,
            engine_args=self.engine_args(),
            workload=workload,  # type: ignore[arg-type]
            log=log,
        )

    def start(self, command: str, seed: int = 0, workload: str = "live") -> Any:
        """Build the engine for a command: one progress line on the terminal while it
        loads, its own output in a log file (all of it on the terminal with --verbose)."""
        from .enginelog import EngineLog

        if self.verbose:
            return self.build(seed, workload)
        log = EngineLog.new(command)
        with loading_line(f"loading {self.model or 'the embedded model'} (log: {log.path})"):
            return self.build(seed, workload, log)


def loading_line(text: str) -> Any:
    """A spinner with `text` on the terminal (a private handle: fds 1 and 2 may be
    pointed at a log meanwhile); a plain line when stderr is not a terminal."""
    import contextlib
    import sys

    from rich.console import Console

    from .enginelog import terminal_stream

    if not sys.stderr.isatty():
        print(text, file=sys.stderr, flush=True)
        return contextlib.nullcontext()
    console = Console(file=terminal_stream(), highlight=False)
    return console.status(text, spinner="dots")


def _literal(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


@dataclass
class PolicyOptions:
    max_thinking: str = "auto"
    min_thinking: int = 0
    num_ignore: str = "0"
    ignore_str: str = "Wait"
    answer_max_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def sampling(self) -> SamplingConfig:
        return SamplingConfig(temperature=self.temperature, top_p=self.top_p, seed=self.seed)

    def policy(self) -> BudgetPolicy:
        """One policy from single values."""
        return BudgetPolicy(
            max_thinking_tokens=parse_budget(self.max_thinking),
            min_thinking_tokens=self.min_thinking,
            num_ignore=_parse_int(self.num_ignore, "--num-ignore"),
            ignore_str=parse_ignore_str(self.ignore_str),
            answer_max_tokens=self.answer_max_tokens,
            thinking=self.sampling(),
            answer=self.sampling(),
        )

    def grid(self) -> list[BudgetPolicy]:
        """Every combination of the comma-separated budgets and "Wait" counts."""
        budgets = [parse_budget(b) for b in _split(self.max_thinking, "--max-thinking")]
        ignores = [_parse_int(n, "--num-ignore") for n in _split(self.num_ignore, "--num-ignore")]
        base = self.policy_base()
        return [base.with_(max_thinking_tokens=b, num_ignore=n) for b in budgets for n in ignores]

    def policy_base(self) -> BudgetPolicy:
        return BudgetPolicy(
            min_thinking_tokens=self.min_thinking,
            ignore_str=parse_ignore_str(self.ignore_str),
            answer_max_tokens=self.answer_max_tokens,
            thinking=self.sampling(),
            answer=self.sampling(),
        )


def _split(text: str, flag: str) -> list[str]:
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(not p for p in parts):
        raise S1Error(
            f"cannot read {flag} {text!r}",
            f"give a comma-separated list, e.g. {flag} 512,1024,auto",
        )
    return parts


def _parse_int(text: str, flag: str) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise S1Error(f"cannot read {flag} {text!r}", "give a whole number") from None
    if value < 0:
        raise S1Error(f"{flag} must be >= 0, got {value}", f"e.g. {flag} 2")
    return value


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

POLICY_PARAMS = [
    (
        "max_thinking",
        str,
        typer.Option(
            "--max-thinking",
            help="Thinking budget in tokens; auto = the paper's (the context left minus 100 "
            "tokens for the answer); fit = leave --answer-max-tokens for the answer.",
            rich_help_panel=PANEL_POLICY,
        ),
    ),
    (
        "min_thinking",
        int,
        typer.Option(
            "--min-thinking",
            help="Suppress ends of thinking before this many tokens.",
            rich_help_panel=PANEL_POLICY,
        ),
    ),
    (
        "num_ignore",
        str,
        typer.Option(
            "--num-ignore",
            help="How many attempted ends of thinking to suppress with the ignore string.",
            rich_help_panel=PANEL_POLICY,
        ),
    ),
    (
        "ignore_str",
        str,
        typer.Option(
            "--ignore-str",
            help="Text appended to think longer; 'Wait|Hmm' rotates.",
            rich_help_panel=PANEL_POLICY,
        ),
    ),
    (
        "answer_max_tokens",
        int,
        typer.Option(
            "--answer-max-tokens",
            help="Tokens allowed for the answer.",
            rich_help_panel=PANEL_POLICY,
        ),
    ),
    (
        "temperature",
        float,
        typer.Option("--temperature", "-t", help="0 = greedy.", rich_help_panel=PANEL_POLICY),
    ),
    (
        "top_p",
        float,
        typer.Option("--top-p", help="Nucleus sampling.", rich_help_panel=PANEL_POLICY),
    ),
    ("seed", int, typer.Option("--seed", help="Sampling seed.", rich_help_panel=PANEL_POLICY)),
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
policy_options = _add_options(POLICY_PARAMS, PolicyOptions, "policy_opts")
# the console's default budget leaves room for the answer (a live demo must not cut it)
TUI_POLICY_DEFAULTS = PolicyOptions(max_thinking="fit")
tui_policy_options = _add_options(
    POLICY_PARAMS, PolicyOptions, "policy_opts", max_thinking=TUI_POLICY_DEFAULTS.max_thinking
)
