"""How a request becomes a `BudgetPolicy` (and which interventions it carries).

The budget fields are read at the top level and in a nested `extra_body` object (the
openai client merges `extra_body` into the top level; curl users may send it nested):
`max_thinking_tokens` (int or "auto"), `min_thinking_tokens`, `num_ignore`, `ignore_str`
(a string, or a list to rotate), `answer_max_tokens`; and the fields other servers use for
the same thing: vLLM's `thinking_token_budget`, OpenAI's `reasoning_effort` (names mapped
to budgets by the server's options), OpenRouter's `reasoning: {max_tokens, effort,
exclude, enabled}`. Two fields that set the same thing to different values are a 400.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s1_engine.policy import BudgetPolicy, SamplingConfig

from .schema import (
    BUDGET_KEYS,
    ChatRequest,
    CompletionRequest,
    Control,
    Reasoning,
    RequestError,
    _OpenAIBase,
)

DEFAULT_EFFORT_BUDGETS: dict[str, int | str] = {"none": 0, "low": 512, "medium": 2048, "high": 8192}
CONTROL_ACTIONS = (
    "force_wait",
    "wait_at_end",
    "end_thinking",
    "inject",
    "stop",
    "set_budget",
    "set_ignore_str",
)


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
    sources: dict[str, Any] = field(default_factory=dict)  # budget field -> value given


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


def _budget(value: Any, name: str) -> int | str:
    if isinstance(value, str):
        if value.strip().lower() == "auto":
            return "auto"
        raise RequestError(
            f"{name} must be a whole number >= 0 or 'auto', got {value!r}", param=name
        )
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RequestError(
            f"{name} must be a whole number >= 0 or 'auto', got {value!r}", param=name
        )
    return value


def plan_request(
    req: _OpenAIBase,
    defaults: BudgetPolicy,
    effort_budgets: dict[str, int | str],
) -> Plan:
    """Read the budget, sampling and OpenAI fields of a request into a `Plan`."""
    _refuse_unsupported(req)
    f = _merge(req)

    # the thinking budget: one value, whichever field names it
    budgets: dict[str, int | str] = {}
    if "max_thinking_tokens" in f:
        budgets["max_thinking_tokens"] = _budget(f["max_thinking_tokens"], "max_thinking_tokens")
    if "thinking_token_budget" in f:
        v = f["thinking_token_budget"]
        # vLLM: -1 means no budget
        budgets["thinking_token_budget"] = (
            "auto" if v == -1 else _budget(v, "thinking_token_budget")
        )
    reasoning: Reasoning | None = f.get("reasoning")
    if reasoning is not None and reasoning.max_tokens is not None:
        budgets["reasoning.max_tokens"] = reasoning.max_tokens
    if reasoning is not None and reasoning.enabled is False:
        budgets["reasoning.enabled"] = 0
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
        changes["ignore_str"] = _ignore_str(f["ignore_str"], "ignore_str")
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
    interventions = list(f.get("interventions") or [])
    for c in interventions:
        check_control(c)
    so = req.stream_options
    if so is not None and not req.stream:
        raise RequestError("stream_options needs stream: true", param="stream_options")
    return Plan(
        policy=policy,
        thinking_format=fmt,
        include_reasoning=include,
        interventions=interventions,
        detail=bool(f.get("s1_detail")),
        stream=req.stream,
        include_usage=bool(so and so.include_usage),
        sources=budgets,
    )


def _ignore_str(value: Any, name: str) -> str | tuple[str, ...]:
    if isinstance(value, str):
        if not value:
            raise RequestError(f'{name} is empty (e.g. "Wait")', param=name)
        return value
    if not value or any(not s for s in value):
        raise RequestError(
            f'{name} must be a non-empty string or a list of them (e.g. ["Wait", "Hmm"])',
            param=name,
        )
    return value[0] if len(value) == 1 else tuple(value)


def _refuse_unsupported(req: _OpenAIBase) -> None:
    """OpenAI fields this server cannot honour: a 400 when set to anything but their default."""

    def no(param: str, why: str) -> None:
        raise RequestError(f"{param} is not supported by s1 serve ({why})", param=param)

    if req.n not in (None, 1):
        no("n", "one choice per request; send n requests")
    if req.stop:
        no("stop", "the answer ends at the model's end of turn or answer_max_tokens")
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
    if isinstance(req, CompletionRequest):
        if req.echo:
            no("echo", "leave it out or false")
        if req.logprobs is not None:
            no("logprobs", "leave it out")
        if req.suffix:
            no("suffix", "leave it out")
        if req.best_of not in (None, 1):
            no("best_of", "leave it out or 1")


def check_control(c: Control) -> None:
    """An intervention's fields fit its action (a 400 otherwise)."""
    if c.action not in CONTROL_ACTIONS:
        raise RequestError(
            f"unknown action {c.action!r} (use one of: {', '.join(CONTROL_ACTIONS)})",
            param="action",
        )
    allowed = {
        "force_wait": {"text"},
        "wait_at_end": set(),
        "end_thinking": set(),
        "inject": {"text"},
        "stop": set(),
        "set_budget": {"budget"},
        "set_ignore_str": {"ignore_str"},
    }[c.action]
    given = {k for k in ("text", "budget", "ignore_str") if getattr(c, k) is not None}
    if given - allowed:
        extra = sorted(given - allowed)[0]
        raise RequestError(f"action {c.action!r} takes no {extra!r}", param=extra)
    if c.action == "inject" and not c.text:
        raise RequestError("action 'inject' needs a non-empty 'text'", param="text")
    if c.action == "force_wait" and c.text == "":
        raise RequestError(
            "action 'force_wait': 'text' is empty (leave it out for the ignore string)",
            param="text",
        )
    if c.action == "set_budget" and c.budget is None:
        raise RequestError("action 'set_budget' needs 'budget' (tokens or 'auto')", param="budget")
    if c.action == "set_ignore_str":
        if c.ignore_str is None:
            raise RequestError("action 'set_ignore_str' needs 'ignore_str'", param="ignore_str")
        _ignore_str(c.ignore_str, "ignore_str")


def apply_control(session: Any, c: Control) -> None:
    """Queue one checked intervention on a live session (`Session` or `RemoteSession`)."""
    a = c.action
    if a == "force_wait":
        session.force_wait(c.text, now=True)
    elif a == "wait_at_end":
        session.force_wait(None, now=False)
    elif a == "end_thinking":
        session.end_thinking()
    elif a == "inject":
        session.inject(c.text)
    elif a == "stop":
        session.stop()
    elif a == "set_budget":
        session.set_budget(c.budget)
    elif a == "set_ignore_str":
        session.set_ignore_str(_ignore_str(c.ignore_str, "ignore_str"))
