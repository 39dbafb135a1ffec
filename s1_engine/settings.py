"""The settings every model-running command shares: the engine, and the budget policy.

Declared once with `option()` (help, panel, flag, limits); the CLI turns the fields into
options, settings files use the same names, and `check()` validates them before any
model loads. Policy values stay text, so `s1 eval` reads lists ("512,1024,auto") with
the same flags `s1 generate` reads single values with.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .backends import AUTO_HELP
from .errors import S1Error
from .options import option
from .policy import (
    BudgetPolicy,
    SamplingConfig,
    parse_budget,
    parse_ignore_str,
    parse_intervention,
    parse_suppress,
)

PANEL_ENGINE = "Model and engine"
PANEL_POLICY = "Budget forcing and sampling"
DTYPES = ("auto", "bfloat16", "bf16", "float16", "fp16", "half", "float32", "fp32", "float")


@dataclass
class EngineOptions:
    model: str | None = option(
        None,
        "Model folder or hub id (default: the embedded tiny s1 model).",
        panel=PANEL_ENGINE,
        short="-m",
    )
    backend: str = option(
        "auto",
        f"auto | vllm | hf ({AUTO_HELP}).",
        panel=PANEL_ENGINE,
        choices=("auto", "vllm", "hf"),
    )
    format: str = option(
        "auto",
        "Thinking format: auto | s1 | think-tags.",
        panel=PANEL_ENGINE,
        choices=("auto", "s1", "s1.1", "think-tags", "think", "r1", "qwen3"),
    )
    dtype: str = option(
        "auto", "auto | bfloat16 | float16 | float32.", panel=PANEL_ENGINE, choices=DTYPES
    )
    max_model_len: int | None = option(
        None,
        "Context length in tokens.",
        panel=PANEL_ENGINE,
        min=16,
        example="--max-model-len 4096",
    )
    tensor_parallel_size: int | None = option(
        None, "vLLM tensor parallelism (GPUs per model).", panel=PANEL_ENGINE, min=1
    )
    data_parallel_size: int | None = option(
        None, "vLLM data parallelism (model copies).", panel=PANEL_ENGINE, min=1
    )
    gpu_memory_utilization: float | None = option(
        None, "vLLM memory share (0-1].", panel=PANEL_ENGINE, above=0, max=1
    )
    engine_arg: list[str] | None = option(
        None, "Any vLLM engine argument, KEY=VALUE (repeatable).", panel=PANEL_ENGINE
    )
    verbose: bool = option(
        False,
        "Show the engine's own logs on the terminal (else: a log file in the data dir).",
        panel=PANEL_ENGINE,
        short="-v",
        negatable=False,
    )

    def __post_init__(self) -> None:
        if self.backend == "hf" and self.engine_args():
            names = ", ".join(sorted(self.engine_args()))
            raise S1Error(
                f"vLLM engine settings ({names}) do nothing on the transformers backend",
                "add --backend vllm, or leave them out",
            )

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

    def build(self, seed: int = 0, concurrency: str = "one", log: Any = None) -> Any:
        """The Engine these settings describe (`log`: an EngineLog for its own output)."""
        from .engine import Engine

        return Engine(
            self.model,
            backend=self.backend,
            format=self.format,
            dtype=self.dtype,
            max_model_len=self.max_model_len,
            seed=seed,
            engine_args=self.engine_args(),
            concurrency=concurrency,  # type: ignore[arg-type]
            log=log,
        )


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


# `--method NAME` on generate / tui / serve: a preset of the policy options below (field ->
# the value it sets); a flag given with a value other than its default wins over the preset.
METHOD_PRESETS: dict[str, dict[str, object]] = {
    "budget": {},  # s1's budget forcing, the flags as given
    "nowait": {"suppress": "nowait"},  # NoWait (arXiv 2506.08343)
    # AlphaOne (arXiv 2505.24863): the alpha moment at half the budget (the paper's
    # alpha 1.4 x the average thinking length is a median 0.53 of its 8192-token cap)
    "alphaone": {"alpha": 0.5},
    "deer": {"deer": 0.95},  # DEER (arXiv 2504.15895): the paper's threshold
}


@dataclass
class PolicyOptions:
    max_thinking: str = option(
        "auto",
        "Thinking budget in tokens; auto = the paper's (the context left minus 100 tokens "
        "for the answer); fit = leave --answer-max-tokens for the answer.",
        panel=PANEL_POLICY,
    )
    min_thinking: int = option(
        0, "Suppress ends of thinking before this many tokens.", panel=PANEL_POLICY, min=0
    )
    num_ignore: str = option(
        "0",
        "How many attempted ends of thinking to suppress with the ignore string.",
        panel=PANEL_POLICY,
    )
    ignore_str: str = option(
        "Wait",
        "Text appended to think longer; 'Wait|Hmm' rotates (s1 eval: 'none,Hmm,Wait' "
        "compares them, none appends nothing).",
        panel=PANEL_POLICY,
    )
    answer_max_tokens: int = option(
        1024, "Tokens allowed for the answer.", panel=PANEL_POLICY, min=1
    )
    intervene: str = option(
        "",
        "Text forced into the thinking once it holds N tokens: 'TEXT@N' (@0: at its start; "
        "thinking intervention, arXiv 2503.24370).",
        panel=PANEL_POLICY,
    )
    wrap_up: str = option(
        "",
        "At a budget cut, this sentence goes before the end of thinking (e.g. 'Time is up. "
        "I will answer now.'); its tokens count as thinking.",
        panel=PANEL_POLICY,
    )
    suppress: str = option(
        "",
        "Words the model may not write while it thinks: 'Wait|Hmm', or nowait for NoWait's "
        "Wait|Hmm|Alternatively (arXiv 2506.08343); each caught one is a suppress event.",
        panel=PANEL_POLICY,
    )
    grace: int = option(
        0,
        "At a budget cut, up to this many more thinking tokens to end the sentence in "
        "progress (a token ending in . ! ? or a newline).",
        panel=PANEL_POLICY,
        min=0,
    )
    alpha: float = option(
        0.0,
        "AlphaOne (arXiv 2505.24863): the alpha moment at this share of the thinking budget "
        "(0: off); before it a Wait may follow each paragraph break, after it the model's "
        "next Wait or end becomes the end of thinking.",
        panel=PANEL_POLICY,
        min=0,
        max=1,
        example="--alpha 0.5",
    )
    alpha_p: float = option(
        1.0,
        "AlphaOne: the chance of a Wait after a paragraph break at thinking's start, falling "
        "linearly to 0 at the alpha moment.",
        panel=PANEL_POLICY,
        min=0,
        max=1,
        example="--alpha-p 1",
    )
    method: str = option(
        "budget",
        "A preset of these options: budget (as given) | nowait (--suppress nowait) | "
        "alphaone (--alpha 0.5) | deer (--deer 0.95); flags given win.",
        panel=PANEL_POLICY,
        choices=tuple(METHOD_PRESETS),
    )
    deer: float | None = option(
        None,
        "DEER (arXiv 2504.15895): at each Wait point a greedy trial answer; thinking ends "
        "when its mean token probability reaches this (e.g. 0.95; above 1: probe, never exit).",
        panel=PANEL_POLICY,
        min=0,
        example="--deer 0.95",
    )
    deer_probe_tokens: int = option(
        16,
        "DEER: the trial answer's most tokens (counted apart from thinking tokens).",
        panel=PANEL_POLICY,
        min=1,
    )
    conf_stop: float | None = option(
        None,
        "DeepConf's online stop (arXiv 2508.15260): end the request once the mean token "
        "confidence of the last --conf-window sampled thinking tokens falls below this (a "
        "token's confidence: minus the mean of its 20 largest log probabilities; 0: measure "
        "only).",
        panel=PANEL_POLICY,
        min=0,
        example="--conf-stop 12.5",
    )
    conf_window: int = option(
        64,
        "DeepConf: the tokens one group confidence averages (the paper's 2048, scaled to "
        "small budgets).",
        panel=PANEL_POLICY,
        min=1,
        example="--conf-window 64",
    )
    temperature: float = option(0.0, "0 = greedy.", panel=PANEL_POLICY, short="-t", min=0)
    top_p: float = option(1.0, "Nucleus sampling.", panel=PANEL_POLICY, above=0, max=1)
    seed: int = option(0, "Sampling seed.", panel=PANEL_POLICY, min=0)

    def __post_init__(self) -> None:
        """Apply the `method` preset to the options still at their defaults."""
        preset = METHOD_PRESETS.get(self.method)
        if preset is None:
            raise S1Error(
                f"--method must be one of {', '.join(METHOD_PRESETS)}, got {self.method!r}",
                "e.g. --method alphaone",
            )
        defaults = {f.name: f.default for f in fields(self)}
        for name, value in preset.items():
            if getattr(self, name) == defaults[name]:
                setattr(self, name, value)

    def sampling(self) -> SamplingConfig:
        return SamplingConfig(temperature=self.temperature, top_p=self.top_p, seed=self.seed)

    def policy(self) -> BudgetPolicy:
        """One policy from single values."""
        budget = parse_budget(self.max_thinking)
        self._check_min(budget)
        return self.policy_base().with_(
            max_thinking_tokens=budget, num_ignore=_parse_int(self.num_ignore, "--num-ignore")
        )

    def _check_min(self, budget: int | str) -> None:
        if isinstance(budget, int) and self.min_thinking > budget:
            raise S1Error(
                f"--min-thinking {self.min_thinking} is above --max-thinking {budget}",
                "lower --min-thinking or raise --max-thinking",
            )

    def grid(self) -> list[BudgetPolicy]:
        """Every combination of the comma-separated budgets and "Wait" counts."""
        budgets = [parse_budget(b) for b in _split(self.max_thinking, "--max-thinking")]
        for b in budgets:
            self._check_min(b)
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
            interventions=(parse_intervention(self.intervene),) if self.intervene else (),
            wrap_up=self.wrap_up,
            grace_tokens=self.grace,
            suppress=parse_suppress(self.suppress),
            alpha=self.alpha,
            alpha_p=self.alpha_p,
            deer_threshold=self.deer,
            deer_probe_tokens=self.deer_probe_tokens,
            conf_stop=self.conf_stop,
            conf_window=self.conf_window,
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
