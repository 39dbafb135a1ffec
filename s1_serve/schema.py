"""What the OpenAI-compatible routes accept, and how a request becomes a `BudgetPolicy`.

Request bodies are pydantic models that refuse unknown fields, so a misspelt budget
field is a 400, never silently ignored. The budget fields are read at the top level
and in a nested `extra_body` object (the openai client merges `extra_body` into the top
level; curl users may send it nested): `max_thinking_tokens` (int or "auto"),
`min_thinking_tokens`, `num_ignore`, `ignore_str` (a string, or a list to rotate),
`answer_max_tokens`; and the fields other servers use for the same thing: vLLM's
`thinking_token_budget`, OpenAI's `reasoning_effort` (names mapped to budgets by the
server's options), OpenRouter's `reasoning: {max_tokens, effort, exclude, enabled}`.
Two fields that set the same thing to different values are a 400.

Also the stream items' wire form (`item_to_wire` / `item_from_wire`), shared by the
server and `s1_serve.client`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from s1_engine.events import Event, Result, StreamItem, TokenDelta
from s1_engine.policy import BudgetPolicy, SamplingConfig

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


class RequestError(Exception):
    """A request the server refuses: HTTP status and one line naming the problem and fix."""

    def __init__(
        self, message: str, status: int = 400, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        if self.status == 401:
            kind = "authentication_error"
        return {
            "error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}
        }


# ----- request bodies -------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


NonNegInt = Annotated[int, Field(ge=0, strict=True)]
PosInt = Annotated[int, Field(ge=1, strict=True)]


class Reasoning(_Body):
    """OpenRouter's `reasoning` object."""

    max_tokens: NonNegInt | None = None
    effort: str | None = None
    exclude: bool | None = None
    enabled: bool | None = None


class Control(_Body):
    """One intervention: the body of POST /v1/requests/{id}/control, or an item of a
    request's `interventions` (applied before its first token)."""

    action: str
    text: str | None = None  # force_wait (optional), inject (required)
    budget: NonNegInt | Literal["auto"] | None = None  # set_budget
    ignore_str: str | list[str] | None = None  # set_ignore_str


class BudgetFields(_Body):
    """The budget-forcing fields (top level, or nested in `extra_body`)."""

    max_thinking_tokens: Any = None  # int or "auto": checked by plan_request
    min_thinking_tokens: NonNegInt | None = None
    num_ignore: NonNegInt | None = None
    ignore_str: str | list[str] | None = None
    answer_max_tokens: PosInt | None = None
    thinking_token_budget: Any = None  # vLLM (-1: no budget)
    reasoning_effort: str | None = None  # OpenAI
    reasoning: Reasoning | None = None  # OpenRouter
    include_reasoning: bool | None = None  # vLLM: false leaves the thinking out
    thinking_format: str | None = None  # s1 | think-tags | auto (default: the server's)
    interventions: list[Control] | None = None
    s1_detail: bool | None = None  # every stream item (token ids, forced flags): the client
    # sampling, which OpenAI clients also send at the top level
    temperature: Annotated[float, Field(ge=0, le=10)] | None = None
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=-1)] | None = None
    seed: int | None = None


class StreamOptions(_Body):
    include_usage: bool | None = None
    continuous_usage_stats: bool | None = None  # vLLM; accepted, not used
    include_obfuscation: bool | None = None  # OpenAI; accepted, not used


class _OpenAIBase(BudgetFields):
    """Fields both routes share: OpenAI's, where a value we cannot honour is a 400."""

    model: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: PosInt | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None
    extra_body: BudgetFields | None = None


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    reasoning_content: str | None = None  # an earlier answer's thinking: not sent back
    reasoning: str | None = None
    refusal: str | None = None
    tool_calls: list[Any] | None = None


class ChatRequest(_OpenAIBase):
    messages: list[Message]
    max_completion_tokens: PosInt | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    store: bool | None = None
    service_tier: str | None = None


class CompletionRequest(_OpenAIBase):
    prompt: str | list[int] | list[str] | list[list[int]]
    echo: bool | None = None
    logprobs: int | None = None
    suffix: str | None = None
    best_of: int | None = None


BUDGET_KEYS = tuple(BudgetFields.model_fields)


def parse_body(model: type[BaseModel], body: Any) -> Any:
    """Validate a JSON body; the first problem becomes a one-line 400."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object", param=None)
    try:
        return model.model_validate(body)
    except ValidationError as e:
        raise RequestError(*_first_problem(e)) from None


def _first_problem(e: ValidationError) -> tuple[str, int, str]:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "json-")))
    # pydantic names the union member it tried ("int", "str"...): keep the field path only
    parts = [p for p in loc.split(".") if p not in ("int", "str", "list[int]", "list[str]")]
    loc = ".".join(p for p in parts if not p.startswith(("constrained-", "literal[")))
    if err["type"] == "extra_forbidden":
        return (
            f"unknown field {loc!r} (see README, 's1 serve', for the fields this server reads)",
            400,
            loc,
        )
    if err["type"] == "missing":
        return f"{loc!r} is required", 400, loc
    got = err.get("input")
    shown = repr(got) if not isinstance(got, dict | list) or len(repr(got)) < 60 else "…"
    return f"{loc}: {err['msg'].lower()} (got {shown})", 400, loc


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

    try:
        policy = defaults.with_(**changes)
    except Exception as e:  # S1Error: a value the engine refuses
        raise RequestError(str(e)) from None
    mx, mn = policy.max_thinking_tokens, policy.min_thinking_tokens
    if isinstance(mx, int) and mn > mx:
        raise RequestError(
            f"min_thinking_tokens ({mn}) is above the thinking budget ({mx}); lower the minimum "
            "or raise the budget",
            param="min_thinking_tokens",
        )

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


# ----- messages -------------------------------------------------------------------------
def chat_messages(req: ChatRequest) -> list[dict[str, str]]:
    """The conversation as plain {role, content} dicts for the chat template."""
    if not req.messages:
        raise RequestError("messages is empty (send at least one user message)", param="messages")
    out: list[dict[str, str]] = []
    for i, m in enumerate(req.messages):
        if m.tool_calls:
            raise RequestError(
                f"messages.{i}: tool calls are not supported by s1 serve", param="messages"
            )
        if isinstance(m.content, list):
            texts = []
            for part in m.content:
                if part.type != "text" or part.text is None:
                    raise RequestError(
                        f"messages.{i}: content part of type {part.type!r} is not supported "
                        "(text only)",
                        param="messages",
                    )
                texts.append(part.text)
            content = "".join(texts)
        else:
            content = m.content or ""
        out.append({"role": "system" if m.role == "developer" else m.role, "content": content})
    return out


# ----- the wire form of stream items and results ----------------------------------------
def event_to_wire(e: Event) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "cause": e.cause,
        "token_index": e.token_index,
        "text": e.text,
        "thinking_tokens": e.thinking_tokens,
    }


def item_to_wire(item: StreamItem) -> dict[str, Any]:
    if isinstance(item, TokenDelta):
        return {
            "type": "delta",
            "segment": item.segment,
            "token_ids": list(item.token_ids),
            "text": item.text,
            "forced": item.forced,
            "thinking_tokens": item.thinking_tokens,
            "answer_tokens": item.answer_tokens,
        }
    return {"type": "event", **event_to_wire(item)}


def event_from_wire(d: dict[str, Any]) -> Event:
    return Event(d["kind"], d["cause"], d["token_index"], d.get("text", ""), d["thinking_tokens"])


def item_from_wire(d: dict[str, Any]) -> StreamItem:
    if d["type"] == "delta":
        return TokenDelta(
            d["segment"],
            tuple(d["token_ids"]),
            d["text"],
            d["forced"],
            d["thinking_tokens"],
            d["answer_tokens"],
        )
    return event_from_wire(d)


def result_to_wire(r: Result) -> dict[str, Any]:
    return {
        "prompt_ids": r.prompt_ids,
        "output_ids": r.output_ids,
        "thinking": r.thinking,
        "answer": r.answer,
        "thinking_tokens": r.thinking_tokens,
        "answer_tokens": r.answer_tokens,
        "events": [event_to_wire(e) for e in r.events],
        "finish_reason": r.finish_reason,
        "seconds": r.seconds,
        "forced_mask": r.forced_mask,
    }


def result_from_wire(d: dict[str, Any]) -> Result:
    return Result(
        prompt_ids=list(d["prompt_ids"]),
        output_ids=list(d["output_ids"]),
        thinking=d["thinking"],
        answer=d["answer"],
        thinking_tokens=d["thinking_tokens"],
        answer_tokens=d["answer_tokens"],
        events=[event_from_wire(e) for e in d["events"]],
        finish_reason=d["finish_reason"],
        seconds=d["seconds"],
        forced_mask=list(d["forced_mask"]),
    )


def policy_to_wire(p: BudgetPolicy) -> dict[str, Any]:
    """A policy as request fields (what `RemoteEngine.start` sends)."""
    s = p.thinking
    d: dict[str, Any] = {
        "max_thinking_tokens": p.max_thinking_tokens,
        "min_thinking_tokens": p.min_thinking_tokens,
        "num_ignore": p.num_ignore,
        "ignore_str": p.ignore_str if isinstance(p.ignore_str, str) else list(p.ignore_str),
        "answer_max_tokens": p.answer_max_tokens,
        "temperature": s.temperature,
        "top_p": s.top_p,
        "top_k": s.top_k,
    }
    if s.seed is not None:
        d["seed"] = s.seed
    return d
