"""The streamed form of a request: OpenAI chunks, as server-sent events.

Thinking goes to `reasoning_content`, the answer to `content` (chat) or `text`
(completions), the forcing events to `s1_events` on the delta (chat) or the choice
(completions); a chunk's events happened after its text. With `s1_detail` every stream item
also rides along under `s1.items` (what `RemoteSession` reads). Once a stream's text flows
it writes at most one chunk per `interval`: what arrives meanwhile waits in the session's
queue and goes out in the next chunk.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from s1_engine.events import Event, Result, TokenDelta

from .plan import Plan
from .schema import RequestError
from .wire import event_to_wire, item_to_wire, result_to_wire

FINISH_REASONS = {"stop": "stop", "length": "length", "stopped": "stop"}


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _Text:
    """The visible text of a request, from its stream items: thinking and answer, each
    without leading whitespace; a reopened thinking drops the answer so far."""

    def __init__(self) -> None:
        self.reasoning: list[str] = []
        self.content: list[str] = []
        self._started = {"reasoning": False, "content": False}

    def take(self, item: TokenDelta) -> tuple[str, str]:
        """(new reasoning, new content) that `item` adds."""
        if item.segment == "think":
            key = "reasoning"
        elif item.segment in ("answer", "pre"):
            key = "content"
        else:
            return "", ""
        text = item.text
        if not self._started[key]:
            text = text.lstrip()
            if not text:
                return "", ""
            self._started[key] = True
        (self.reasoning if key == "reasoning" else self.content).append(text)
        return (text, "") if key == "reasoning" else ("", text)

    def reopen(self) -> None:
        self.content.clear()
        self._started["content"] = False


def usage(r: Result) -> dict[str, Any]:
    return {
        "prompt_tokens": len(r.prompt_ids),
        "completion_tokens": len(r.output_ids),
        "total_tokens": len(r.prompt_ids) + len(r.output_ids),
        "completion_tokens_details": {"reasoning_tokens": r.thinking_tokens},
    }


def summary(r: Result, session: Any, detail: bool, events: bool) -> dict[str, Any]:
    """The `s1` record of a finished request (events left out when they were streamed)."""
    out: dict[str, Any] = {
        "finish_reason": r.finish_reason,
        "thinking_tokens": r.thinking_tokens,
        "answer_tokens": r.answer_tokens,
        "budget": session.state.budget_tokens,
        "waits": r.count("wait"),
    }
    if events:
        out["events"] = [event_to_wire(e) for e in r.events]
    if detail:
        out["result"] = result_to_wire(r)
    return out


def error_text(r: Result) -> str:
    errors = [e.text for e in r.events if e.kind == "error"]
    return errors[-1] if errors else "the engine ended the request with an error"


async def sse(
    session: Any,
    rid: str,
    created: int,
    kind: str,
    plan: Plan,
    model_name: str,
    interval: float,
    release: Callable[[], None],
) -> AsyncIterator[str]:
    """The SSE lines of one streaming request, in chunks as `Session.stream_batches()`
    delivers its items; `release()` when it ends or its client goes away."""
    chat = kind == "chat"
    head = dumps({"id": rid, "object": "chat.completion.chunk" if chat else "text_completion"})
    head = head[:-1] + f',"created":{created},"model":{dumps(model_name)},"choices":[{{'
    head += '"index":0,' + ('"delta":' if chat else "")
    tail = ',"finish_reason":null,"logprobs":null}]'
    text = _Text()
    events: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    reasoning: list[str] = []
    content: list[str] = []

    def chunk() -> str | None:
        body: dict[str, Any] = {}
        if reasoning and plan.include_reasoning:
            body["reasoning_content"] = "".join(reasoning)
        if content:
            body["content" if chat else "text"] = "".join(content)
        if events:
            body["s1_events"] = list(events)
        extra = ""
        if items:
            extra = ',"s1":' + dumps({"items": list(items), "budget": session.state.budget_tokens})
        reasoning.clear(), content.clear(), events.clear(), items.clear()
        if not body and not extra:
            return None
        if not chat:
            body.setdefault("text", "")
        inner = dumps(body)
        if not chat:
            inner = inner[1:-1]  # a completion choice holds the fields itself
        return f"data: {head}{inner}{tail}{extra}}}\n\n"

    try:
        first: dict[str, Any] = {"role": "assistant", "content": ""} if chat else {"text": ""}
        opening = dumps(first) if chat else dumps(first)[1:-1]
        extra = ""
        if plan.detail:
            extra = ',"s1":' + dumps({"items": [], "budget": session.state.budget_tokens})
        yield f"data: {head}{opening}{tail}{extra}}}\n\n"
        async for batch in session.stream_batches():
            out = []
            for item in batch:
                if isinstance(item, TokenDelta):
                    if events:  # text after an event starts a new chunk
                        if (c := chunk()) is not None:
                            out.append(c)
                    r_text, c_text = text.take(item)
                    if r_text:
                        reasoning.append(r_text)
                    if c_text:
                        content.append(c_text)
                elif isinstance(item, Event):
                    if item.kind == "think_start" and item.text == "reopened":
                        # the answer so far is dropped: close what came before it
                        if (c := chunk()) is not None:
                            out.append(c)
                        text.reopen()
                    events.append(event_to_wire(item))
                if plan.detail:
                    items.append(item_to_wire(item))
            if (c := chunk()) is not None:
                out.append(c)
            if out:
                yield "".join(out)
                ended = isinstance(batch[-1], Event) and batch[-1].kind == "finish"
                if interval > 0 and not ended and (text.reasoning or text.content):
                    # let the tokens of the next interval gather in the session's queue
                    await asyncio.sleep(interval)
        result = await session.aresult()
        if result.finish_reason == "error":
            err = RequestError(f"generation failed: {error_text(result)}", status=500)
            yield f"data: {dumps(err.body())}\n\n"
            return
        finish = FINISH_REASONS.get(result.finish_reason, result.finish_reason)
        s1 = dumps(summary(result, session, plan.detail, events=False))
        last = "{}" if chat else '"text":""'
        yield (
            f'data: {head}{last},"finish_reason":{dumps(finish)},"logprobs":null}}],"s1":{s1}}}\n\n'
        )
        if plan.include_usage:
            counts = dumps(
                {
                    "id": rid,
                    "object": "chat.completion.chunk" if chat else "text_completion",
                    "created": created,
                    "model": model_name,
                    "choices": [],
                    "usage": usage(result),
                }
            )
            yield f"data: {counts}\n\n"
        yield "data: [DONE]\n\n"
    finally:
        release()
