"""What the server sends: pydantic models for every response body and stream chunk.

Responses and SSE chunks are serialised from these models (`model_dump_json()`), never
spliced from strings. A field made with `extra()` is left out while it is None (OpenAI's
optional fields); the others always appear, null included (`finish_reason`, `logprobs`).

Our additions ride as extra fields any OpenAI client passes through: the thinking as both
`reasoning_content` (vLLM until 0.11, DeepSeek) and `reasoning` (vLLM since, OpenRouter);
the forcing events as `s1_events`, each entry with an `index` (its place in the request's
events), so the openai SDK's `.stream()` helper merges them like tool-call fragments; the
request's summary as `s1`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


def _none(value: Any) -> bool:
    return value is None


def extra(default: Any = None) -> Any:
    """An optional field: in the JSON only when set."""
    return Field(default, exclude_if=_none)


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


# ----- models ----------------------------------------------------------------------------
class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "s1"
    max_model_len: int
    s1: dict[str, Any]


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# ----- the pieces of a completion --------------------------------------------------------
class S1Event(BaseModel):
    """One forcing event, as streamed in `s1_events` and listed in `s1.events`."""

    index: int  # its place among the request's events (what SDK stream helpers merge on)
    kind: str
    cause: str
    token_index: int
    text: str
    thinking_tokens: int


class TokenDetails(BaseModel):
    reasoning_tokens: int


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    completion_tokens_details: TokenDetails


class S1Summary(BaseModel):
    """The `s1` object of a finished request."""

    finish_reason: str  # stop | length | stopped (a control call) | error
    thinking_tokens: int
    answer_tokens: int
    budget: int | str
    waits: int
    stop_reason: str | None = extra()  # the stop string that ended the answer
    thinking_start_added: bool | None = extra()  # /v1/completions: the prompt got it
    events: list[S1Event] | None = extra()  # whole list when not streaming
    result: dict[str, Any] | None = extra()  # s1_detail: the engine's Result, on the wire


# ----- whole responses -------------------------------------------------------------------
class _Head(BaseModel):
    """The fields every completion and chunk opens with (OpenAI's order)."""

    id: str
    object: str
    created: int
    model: str


class _Thinking(BaseModel):
    """The thinking, under both names clients read."""

    reasoning_content: str | None = extra()
    reasoning: str | None = extra()


class ChatMessage(_Thinking):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: ChatMessage
    finish_reason: str | None
    logprobs: None = None
    stop_reason: str | None = extra()  # vLLM's: the stop string that matched


class ChatCompletion(_Head):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]
    usage: Usage
    s1: S1Summary


class CompletionChoice(_Thinking):
    index: int = 0
    text: str
    finish_reason: str | None
    logprobs: None = None
    stop_reason: str | None = extra()


class Completion(_Head):
    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChoice]
    usage: Usage
    s1: S1Summary


# ----- stream chunks ---------------------------------------------------------------------
class Delta(_Thinking):
    role: Literal["assistant"] | None = extra()
    content: str | None = extra()
    s1_events: list[S1Event] | None = extra()


class ChatChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: str | None = None
    logprobs: None = None
    stop_reason: str | None = extra()


class ChatCompletionChunk(_Head):
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChatChunkChoice]
    usage: Usage | None = extra()
    s1: dict[str, Any] | None = extra()  # s1_detail items and budget; the summary at the end


class CompletionChunkChoice(_Thinking):
    index: int = 0
    text: str = ""
    finish_reason: str | None = None
    logprobs: None = None
    stop_reason: str | None = extra()
    s1_events: list[S1Event] | None = extra()


class CompletionChunk(_Head):
    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChunkChoice]
    usage: Usage | None = extra()
    s1: dict[str, Any] | None = extra()


# ----- the s1 routes ---------------------------------------------------------------------
class ControlAccepted(BaseModel):
    id: str
    action: str
    queued: bool = True  # applied at the next token boundary: see the stream's events
    phase: str
    thinking_tokens: int


class Running(BaseModel):
    running: list[str]
    engine_unfinished: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"
