"""What the OpenAI-compatible routes accept: request bodies (pydantic models that refuse
unknown fields, so a misspelt budget field is a 400, never silently ignored), the one-line
400 a bad body gets, and the conversation of a chat request.

How the budget fields become a policy: `s1_serve.plan`; what the server sends back:
`s1_serve.responses`; the stream items' wire form: `s1_serve.wire`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import RequestError


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


class Thinking(_Body):
    """Anthropic's `thinking` (as litellm and Claude clients send it)."""

    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: NonNegInt | None = None


class ThinkingConfig(_Body):
    """Gemini's `thinking_config` (-1: the model decides, 0: no thinking)."""

    thinking_budget: Annotated[int, Field(ge=-1, strict=True)] | None = None
    include_thoughts: bool | None = None


class Google(_Body):
    """Gemini's OpenAI-compatible nesting: `extra_body: {google: {thinking_config}}`."""

    thinking_config: ThinkingConfig | None = None


class ChatTemplateKwargs(_Body):
    """vLLM's `chat_template_kwargs`: the switches reasoning templates read."""

    enable_thinking: bool | None = None  # Qwen3
    thinking: bool | None = None  # DeepSeek V3.1


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
    thinking: Thinking | None = None  # Anthropic
    thinking_config: ThinkingConfig | None = None  # Gemini
    google: Google | None = None  # Gemini, as its OpenAI-compatible endpoint nests it
    thinking_budget_tokens: Annotated[int, Field(ge=-1, strict=True)] | None = None  # llama.cpp
    chat_template_kwargs: ChatTemplateKwargs | None = None  # vLLM
    include_reasoning: bool | None = None  # vLLM: false leaves the thinking out
    thinking_format: str | None = None  # s1 | think-tags | auto (default: the server's)
    interventions: list[Control] | None = None
    # after s1: text forced in at N thinking tokens ("TEXT@N", or [[N, "TEXT"], ...]), a
    # wrap-up sentence before a budget cut's delimiter, a grace to end the sentence
    intervene: str | list[tuple[NonNegInt, str]] | None = None
    wrap_up: str | None = None
    grace_tokens: NonNegInt | None = None
    suppress: str | list[str] | None = None  # words not written while thinking (NoWait)
    # AlphaOne: the alpha moment's share of the thinking budget (0: off), and the chance of a
    # Wait after a paragraph break at thinking's start (falling to 0 at the moment)
    alpha: Annotated[float, Field(ge=0, le=1)] | None = None
    alpha_p: Annotated[float, Field(ge=0, le=1)] | None = None
    # DEER: at each Wait point a trial answer; thinking ends at this mean token probability
    deer: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    deer_probe_tokens: PosInt | None = None
    # DeepConf: stop once a window's mean token confidence falls below conf_stop
    conf_stop: Annotated[float, Field(ge=0)] | None = None
    conf_window: PosInt | None = None
    s1_detail: bool | None = None  # every stream item (token ids, forced flags): the client
    # sampling, which OpenAI clients also send at the top level
    temperature: Annotated[float, Field(ge=0, le=10)] | None = None
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=-1)] | None = None
    seed: int | None = None


class StreamOptions(_Body):
    include_usage: bool | None = None
    continuous_usage_stats: bool | None = None  # vLLM: usage so far on every chunk
    include_obfuscation: bool | None = None  # OpenAI: only false (no padding here)


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
