"""The streamed form of a request: OpenAI chunks (models of `s1_serve.responses`) as
server-sent events.

Thinking goes to `reasoning_content` and `reasoning`, the answer to `content` (chat) or
`text` (completions), the forcing events to `s1_events` on the delta (chat) or the choice
(completions); a chunk's events happened after its text. With `s1_detail` every stream item
also rides along under `s1.items` (what `RemoteSession` reads). Once a stream's text flows
it writes at most one chunk per `interval`: what arrives meanwhile waits in the session's
queue and goes out in the next chunk. A stop string ends the answer where it begins: the
request is stopped at once and the stream ends with `finish_reason` "stop".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s1_engine.events import Event, Result

from .errors import RequestError
from .responses import (
    ChatChunkChoice,
    ChatCompletionChunk,
    CompletionChunk,
    CompletionChunkChoice,
    Delta,
    S1Event,
    S1Summary,
    TokenDetails,
    Usage,
)
from .visible import Visible, event_model
from .wire import item_to_wire

if TYPE_CHECKING:
    from s1_engine.protocols import SessionLike

FINISH_REASONS = {"stop": "stop", "length": "length", "stopped": "stop"}


def usage(r: Result) -> Usage:
    return Usage(
        prompt_tokens=len(r.prompt_ids),
        completion_tokens=len(r.output_ids),
        total_tokens=len(r.prompt_ids) + len(r.output_ids),
        completion_tokens_details=TokenDetails(reasoning_tokens=r.thinking_tokens),
    )


def summary(
    r: Result, budget: int | str, detail: bool, events: bool, stopped_by: str | None = None
) -> S1Summary:
    """The `s1` record of a finished request (events left out when they were streamed)."""
    from .wire import result_to_wire

    return S1Summary(
        finish_reason="stop" if stopped_by is not None else r.finish_reason,
        thinking_tokens=r.thinking_tokens,
        answer_tokens=r.answer_tokens,
        budget=budget,
        waits=r.count("wait"),
        stop_reason=stopped_by,
        events=[event_model(e, i) for i, e in enumerate(r.events)] if events else None,
        result=result_to_wire(r) if detail else None,
    )


def error_text(r: Result) -> str:
    errors = [e.text for e in r.events if e.kind == "error"]
    return errors[-1] if errors else "the engine ended the request with an error"


@dataclass
class StreamSpec:
    """What one stream needs besides its session."""

    rid: str
    created: int
    chat: bool
    model: str
    include_reasoning: bool
    detail: bool
    include_usage: bool
    continuous_usage: bool
    stops: tuple[str, ...]
    prompt_tokens: int
    interval: float
    extra_s1: dict[str, Any]  # e.g. thinking_start_added, for the final summary


class _Writer:
    """Builds the chunks of one stream from what `Visible` lets through."""

    def __init__(self, spec: StreamSpec, budget: Callable[[], int | str]) -> None:
        self.spec = spec
        self.budget = budget
        self.reasoning: list[str] = []
        self.content: list[str] = []
        self.events: list[S1Event] = []
        self.items: list[dict[str, Any]] = []

    def _usage(self, v: Visible) -> Usage | None:
        if not self.spec.continuous_usage:
            return None
        p = self.spec.prompt_tokens
        return Usage(
            prompt_tokens=p,
            completion_tokens=v.completion_tokens,
            total_tokens=p + v.completion_tokens,
            completion_tokens_details=TokenDetails(reasoning_tokens=v.thinking_tokens),
        )

    def chunk(
        self,
        v: Visible | None = None,
        *,
        first: bool = False,
        finish: str | None = None,
        s1: dict[str, Any] | None = None,
        stop_reason: str | None = None,
    ) -> str | None:
        spec = self.spec
        reasoning = "".join(self.reasoning) if spec.include_reasoning else ""
        content = "".join(self.content)
        events = list(self.events) or None
        if self.items or (first and spec.detail):
            s1 = {**(s1 or {}), "items": list(self.items), "budget": self.budget()}
        self.reasoning.clear(), self.content.clear(), self.events.clear(), self.items.clear()
        if not (first or finish or reasoning or content or events or s1):
            return None
        usage = self._usage(v) if v is not None else None
        common = {"id": spec.rid, "created": spec.created, "model": spec.model}
        if spec.chat:
            delta = Delta(
                role="assistant" if first else None,
                content=content if (content or first) else None,
                reasoning_content=reasoning or None,
                reasoning=reasoning or None,
                s1_events=events,
            )
            choice = ChatChunkChoice(delta=delta, finish_reason=finish, stop_reason=stop_reason)
            out: Any = ChatCompletionChunk(**common, choices=[choice], usage=usage, s1=s1)
        else:
            choice = CompletionChunkChoice(
                text=content,
                finish_reason=finish,
                stop_reason=stop_reason,
                reasoning_content=reasoning or None,
                reasoning=reasoning or None,
                s1_events=events,
            )
            out = CompletionChunk(**common, choices=[choice], usage=usage, s1=s1)
        return f"data: {out.model_dump_json()}\n\n"

    def usage_chunk(self, r: Result) -> str:
        spec = self.spec
        common = {"id": spec.rid, "created": spec.created, "model": spec.model, "choices": []}
        model = ChatCompletionChunk if spec.chat else CompletionChunk
        return f"data: {model(**common, usage=usage(r)).model_dump_json()}\n\n"


async def sse(
    session: SessionLike,
    spec: StreamSpec,
    budget: Callable[[], int | str],
    release: Callable[[], None],
) -> AsyncIterator[str]:
    """The SSE lines of one streaming request, in chunks as `Session.stream_batches()`
    delivers its items; `release()` when it ends or its client goes away."""
    w = _Writer(spec, budget)
    v = Visible(stops=spec.stops)
    try:
        yield w.chunk(v, first=True) or ""
        async for batch in session.stream_batches():
            out = []
            for item in batch:
                was_stopped = v.stopped_by is not None
                piece = v.take(item)
                if piece.reopened or (piece.event is None and w.events):
                    # text after an event, or a dropped answer, starts a new chunk
                    if (c := w.chunk(v)) is not None:
                        out.append(c)
                if piece.reasoning:
                    w.reasoning.append(piece.reasoning)
                if piece.content:
                    w.content.append(piece.content)
                if piece.event is not None:
                    w.events.append(piece.event)
                if spec.detail:
                    w.items.append(item_to_wire(item))
                if v.stopped_by is not None and not was_stopped:
                    session.stop()  # a stop string: the engine stops at the next token
            if (c := w.chunk(v)) is not None:
                out.append(c)
            if out:
                yield "".join(out)
                ended = isinstance(batch[-1], Event) and batch[-1].kind == "finish"
                if spec.interval > 0 and not ended and (v.reasoning or v.content):
                    # let the tokens of the next interval gather in the session's queue
                    await asyncio.sleep(spec.interval)
        result = await session.aresult()
        if result.finish_reason == "error":
            err = RequestError(f"generation failed: {error_text(result)}", status=500)
            yield f"data: {err.model().model_dump_json()}\n\n"
            return
        if v.stopped_by is None and (tail := v.flush()):
            w.content.append(tail)
            if (c := w.chunk(v)) is not None:
                yield c
        finish = "stop" if v.stopped_by else FINISH_REASONS.get(result.finish_reason, "stop")
        s1 = summary(result, budget(), spec.detail, events=False, stopped_by=v.stopped_by)
        s1_dict = {**s1.model_dump(exclude_none=True), **spec.extra_s1}
        last = w.chunk(v, finish=finish, s1=s1_dict, stop_reason=v.stopped_by)
        yield last or ""
        if spec.include_usage:
            yield w.usage_chunk(result)
        yield "data: [DONE]\n\n"
    finally:
        release()
