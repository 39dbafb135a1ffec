"""How a request becomes a `BudgetPolicy` (and which interventions it carries).

The budget fields are read at the top level and in a nested `extra_body` object (the
openai client merges `extra_body` into the top level; curl users may send it nested):
`max_thinking_tokens` (int or "auto"), `min_thinking_tokens`, `num_ignore`, `ignore_str`
(a string, or a list to rotate), `answer_max_tokens`, `intervene` ("TEXT@N" or
[[N, "TEXT"], ...]: forced in at N thinking tokens), `wrap_up`, `grace_tokens`, `suppress`
("Wait|Hmm", a list, or "nowait"), `alpha` and `alpha_p` (AlphaOne), `deer` (DEER's threshold) and
`deer_probe_tokens`, `conf_stop` / `conf_window` (DeepConf); and the fields other servers use for
the same thing: vLLM's `thinking_token_budget`, OpenAI's `reasoning_effort` (names mapped
to budgets by the server's options), OpenRouter's `reasoning: {max_tokens, effort,
exclude, enabled}`, Anthropic's `thinking: {type, budget_tokens}`, Gemini's
`thinking_config: {thinking_budget, include_thoughts}` (also under `google`), llama.cpp's
`thinking_budget_tokens`, vLLM's `chat_template_kwargs: {enable_thinking}`. Two fields
that set the same thing to different values are a 400. Budgets and ignore strings are read
by the engine's own parsers (`s1_engine.policy`, through `s1_serve.actions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s1_engine.policy import BudgetPolicy, SamplingConfig

from . import actions
from .actions import budget_value, ignore_str_value
from .errors import RequestError
from .schema import BUDGET_KEYS, ChatRequest, CompletionRequest, Control, Reasoning, _OpenAIBase
from .settings import DEFAULT_EFFORTS

MAX_STOP_STRINGS = 16


# ----- budget fields -> policy ----------------------------------------------------------
def parse_effort_budgets(text: str) -> dict[str, int | str]:
    """'low=512,medium=2048,high=8192' -> {"low": 512, ...} (a budget may be 'auto')."""
    from s1_engine.errors import S1Error
    from s1_engine.policy import parse_budget

    out: dict[str, int | str] = {}
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise S1Error(
                f"cannot read the reasoning-effort budget {part!r}",
                "write NAME=TOKENS, e.g. --reasoning-effort low=512,medium=2048,high=8192",
            )
        out[name.strip().lower()] = parse_budget(value)
    if not out:
        raise S1Error("no reasoning-effort budgets given", "e.g. low=512,medium=2048,high=8192")
    return out


DEFAULT_EFFORT_BUDGETS: dict[str, int | str] = parse_effort_budgets(DEFAULT_EFFORTS)


@dataclass
class Plan:
    """A request read and checked: what to run and how to answer."""

    policy: BudgetPolicy
    thinking_format: str | None
    include_reasoning: bool
    interventions: list[Control]
    detail: bool
    stream: bool
    include_usage: bool
    continuous_usage: bool = False  # usage so far on every chunk (vLLM's stream option)
    stop: tuple[str, ...] = ()  # the answer ends before the first of these


def _merge(req: _OpenAIBase) -> dict[str, Any]:
    """Budget fields given at the top level or in extra_body (a clash is a 400)."""
    merged: dict[str, Any] = {}
    top = req.model_dump(include=set(BUDGET_KEYS), exclude_none=True)
    nested = req.extra_body.model_dump(exclude_none=True) if req.extra_body else {}
    for key in BUDGET_KEYS:
        if key in top and key in nested and top[key] != nested[key]:
            raise RequestError(
                f"{key} is {top[key]!r} at the top level but {nested[key]!r} in extra_body "
                "(give it once)",
                param=key,
            )
        if key in top:
            merged[key] = getattr(req, key)
        elif key in nested:
            merged[key] = getattr(req.extra_body, key)
    return merged


def _thinking_configs(f: dict[str, Any]) -> list[Any]:
    google = f.get("google")
    return [tc for tc in (f.get("thinking_config"), google and google.thinking_config) if tc]


def _budgets(f: dict[str, Any], effort_budgets: dict[str, int | str]) -> dict[str, int | str]:
    """The thinking budget as each field that names it says (the caller checks they agree)."""
    budgets: dict[str, int | str] = {}
    if "max_thinking_tokens" in f:
        budgets["max_thinking_tokens"] = budget_value(
            f["max_thinking_tokens"], "max_thinking_tokens"
        )
    for name in ("thinking_token_budget", "thinking_budget_tokens"):  # vLLM, llama.cpp
        if name in f:
            v = f[name]
            budgets[name] = "auto" if v == -1 else budget_value(v, name)  # -1: no budget
    reasoning: Reasoning | None = f.get("reasoning")
    if reasoning is not None and reasoning.max_tokens is not None:
        budgets["reasoning.max_tokens"] = reasoning.max_tokens
    if reasoning is not None and reasoning.enabled is False:
        budgets["reasoning.enabled"] = 0
    thinking = f.get("thinking")
    if thinking is not None:
        if thinking.type == "disabled":
            budgets["thinking.type=disabled"] = 0
        elif thinking.type == "enabled":
            if thinking.budget_tokens is None:
                raise RequestError(
                    "thinking.type 'enabled' needs thinking.budget_tokens (the thinking budget)",
                    param="thinking.budget_tokens",
                )
            budgets["thinking.budget_tokens"] = thinking.budget_tokens
        elif thinking.budget_tokens is not None:
            raise RequestError(
                "thinking.type 'adaptive' takes no budget_tokens (the server's default budget "
                "applies); use type 'enabled' to give one",
                param="thinking.budget_tokens",
            )
    for tc in _thinking_configs(f):
        if tc.thinking_budget is not None:
            v = tc.thinking_budget
            budgets["thinking_config.thinking_budget"] = "auto" if v == -1 else v
    kwargs = f.get("chat_template_kwargs")
    on: str | None = None
    for key in ("enable_thinking", "thinking"):
        value = getattr(kwargs, key, None) if kwargs is not None else None
        if value is False:
            budgets[f"chat_template_kwargs.{key}=false"] = 0
        elif value is True:
            on = f"chat_template_kwargs.{key}"
    for name, effort in (
        ("reasoning_effort", f.get("reasoning_effort")),
        ("reasoning.effort", reasoning.effort if reasoning is not None else None),
    ):
        if effort is None:
            continue
        key = effort.strip().lower()
        if key not in effort_budgets:
            raise RequestError(
                f"unknown {name} {effort!r} (this server knows: {', '.join(effort_budgets)})",
                param=name,
            )
        budgets[f"{name}={key}"] = effort_budgets[key]
    if on is not None and 0 in budgets.values():
        zero = next(k for k, v in budgets.items() if v == 0)
        raise RequestError(f"{on} is true but {zero} sets no thinking; give one", param=on)
    return budgets


def _stop_strings(stop: str | list[str] | None) -> tuple[str, ...]:
    if stop is None:
        return ()
    stops = (stop,) if isinstance(stop, str) else tuple(stop)
    if any(not s for s in stops):
        raise RequestError("stop holds an empty string; give non-empty strings", param="stop")
    if len(stops) > MAX_STOP_STRINGS:
        raise RequestError(
            f"stop holds {len(stops)} strings; s1 serve takes at most {MAX_STOP_STRINGS}",
            param="stop",
        )
    return tuple(dict.fromkeys(stops))


def plan_request(
    req: _OpenAIBase,
    defaults: BudgetPolicy,
    effort_budgets: dict[str, int | str],
) -> Plan:
    """Read the budget, sampling and OpenAI fields of a request into a `Plan`."""
    _refuse_unsupported(req)
    f = _merge(req)

    budgets = _budgets(f, effort_budgets)
    reasoning: Reasoning | None = f.get("reasoning")
    if len(set(budgets.values())) > 1:
        said = ", ".join(f"{k} -> {v}" for k, v in budgets.items())
        raise RequestError(
            f"the thinking budget is given twice with different values ({said}); give one",
            param=next(iter(budgets)),
        )
    changes: dict[str, Any] = {}
    if budgets:
        changes["max_thinking_tokens"] = next(iter(budgets.values()))
    if "min_thinking_tokens" in f:
        changes["min_thinking_tokens"] = f["min_thinking_tokens"]
    if "num_ignore" in f:
        changes["num_ignore"] = f["num_ignore"]
    if "ignore_str" in f:
        changes["ignore_str"] = ignore_str_value(f["ignore_str"], "ignore_str")
    if "intervene" in f:
        changes["interventions"] = actions.intervene_value(f["intervene"])
    if "wrap_up" in f:
        changes["wrap_up"] = f["wrap_up"]
    if "grace_tokens" in f:
        changes["grace_tokens"] = f["grace_tokens"]
    if "suppress" in f:
        changes["suppress"] = actions.suppress_value(f["suppress"])
    for key in ("alpha", "alpha_p"):  # AlphaOne; the engine checks the range again
        if key in f:
            changes[key] = float(f[key])
    if "deer" in f:
        changes["deer_threshold"] = f["deer"]
    if "deer_probe_tokens" in f:
        changes["deer_probe_tokens"] = f["deer_probe_tokens"]
    for key in ("conf_stop", "conf_window"):  # DeepConf's online stop
        if key in f:
            changes[key] = f[key]
    # the answer's cap: answer_max_tokens, or OpenAI's max_tokens / max_completion_tokens
    caps = {
        k: v
        for k, v in (
            ("answer_max_tokens", f.get("answer_max_tokens")),
            ("max_tokens", req.max_tokens),
            ("max_completion_tokens", getattr(req, "max_completion_tokens", None)),
        )
        if v is not None
    }
    if len(set(caps.values())) > 1:
        said = ", ".join(f"{k}={v}" for k, v in caps.items())
        raise RequestError(
            f"the answer's cap is given twice with different values ({said}); give one",
            param=next(iter(caps)),
        )
    if caps:
        changes["answer_max_tokens"] = next(iter(caps.values()))

    sampling = defaults.thinking
    s_changes = {k: f[k] for k in ("temperature", "top_p", "top_k", "seed") if k in f}
    if s_changes.get("top_k") == -1:
        s_changes["top_k"] = 0  # vLLM's "off"
    if "seed" not in s_changes:
        s_changes["seed"] = None  # a server must not give every request the same samples
    try:
        sampling = SamplingConfig(**{**sampling.__dict__, **s_changes})
    except Exception as e:  # S1Error
        raise RequestError(str(e)) from None
    changes["thinking"] = sampling
    changes["answer"] = sampling

    mx = changes.get("max_thinking_tokens", defaults.max_thinking_tokens)
    mn = changes.get("min_thinking_tokens", defaults.min_thinking_tokens)
    if isinstance(mx, int) and mn > mx:  # said in the request's terms, before the engine's
        raise RequestError(
            f"min_thinking_tokens ({mn}) is above the thinking budget ({mx}); lower the minimum "
            "or raise the budget",
            param="min_thinking_tokens",
        )
    try:
        policy = defaults.with_(**changes)
    except Exception as e:  # S1Error: a value the engine refuses
        raise RequestError(str(e)) from None

    fmt = f.get("thinking_format")
    if fmt is not None:
        from s1_engine.formats import ALIASES, FORMATS

        if fmt != "auto" and ALIASES.get(fmt, fmt) not in FORMATS:
            raise RequestError(
                f"unknown thinking_format {fmt!r} (use auto, {', '.join(FORMATS)})",
                param="thinking_format",
            )
    include = f.get("include_reasoning", True)
    if reasoning is not None and reasoning.exclude:
        include = False
    for tc in _thinking_configs(f):
        if tc.include_thoughts is False:
            include = False
    interventions = list(f.get("interventions") or [])
    for c in interventions:
        actions.check(c)
    so = req.stream_options
    if so is not None and not req.stream:
        raise RequestError("stream_options needs stream: true", param="stream_options")
    if so is not None and so.include_obfuscation:
        raise RequestError(
            "stream_options.include_obfuscation is not supported by s1 serve (it pads no "
            "chunk); leave it out or false",
            param="stream_options.include_obfuscation",
        )
    return Plan(
        policy=policy,
        thinking_format=fmt,
        include_reasoning=include,
        interventions=interventions,
        detail=bool(f.get("s1_detail")),
        stream=req.stream,
        include_usage=bool(so and (so.include_usage or so.continuous_usage_stats)),
        continuous_usage=bool(so and so.continuous_usage_stats),
        stop=_stop_strings(req.stop),
    )


def _refuse_unsupported(req: _OpenAIBase) -> None:
    """OpenAI fields this server cannot honour: a 400 when set to anything but their default."""

    def no(param: str, why: str) -> None:
        raise RequestError(f"{param} is not supported by s1 serve ({why})", param=param)

    if req.n not in (None, 1):
        no("n", "one choice per request; send n requests")
    for p in ("presence_penalty", "frequency_penalty"):
        if getattr(req, p) not in (None, 0, 0.0):
            no(p, "leave it out or 0")
    if req.logit_bias:
        no("logit_bias", "leave it out")
    if isinstance(req, ChatRequest):
        if req.logprobs or req.top_logprobs:
            no("logprobs", "leave it out or false")
        if req.tools:
            no("tools", "no tool calls")
        if req.response_format and req.response_format.get("type") not in (None, "text"):
            no("response_format", "text only")
        if req.tool_choice not in (None, "none", "auto"):
            no("tool_choice", "no tool calls; leave it out, 'none' or 'auto'")
        if req.store:
            no("store", "nothing is stored; leave it out or false")
        if req.service_tier not in (None, "auto", "default"):
            no("service_tier", "one tier; leave it out, 'auto' or 'default'")
    if isinstance(req, CompletionRequest):
        if req.echo:
            no("echo", "leave it out or false")
        if req.logprobs is not None:
            no("logprobs", "leave it out")
        if req.suffix:
            no("suffix", "leave it out")
        if req.best_of not in (None, 1):
            no("best_of", "leave it out or 1")
