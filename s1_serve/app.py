"""The OpenAI-compatible app over one `Engine`: many clients, budget forcing, live control.

    app = create_app(engine, ServeConfig(api_key="..."))   # a FastAPI app; serve it with uvicorn

Routes: GET /health (no key needed), GET /v1/models, POST /v1/chat/completions,
POST /v1/completions (stream or not), POST /v1/requests/{id}/control, GET /v1/requests.

The engine runs on its own event loop thread; the app only starts sessions, reads
their stream (`Session.stream_batches()`, so a writer that falls behind catches up in
one write) and queues interventions. Thinking goes to `reasoning_content`, the answer
to `content`; the forcing events ride on the stream as `s1_events` (chat: on the delta;
completions: on the choice) and come back whole under `s1` in the final response.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from s1_engine.errors import S1Error
from s1_engine.events import Event, Result, TokenDelta
from s1_engine.policy import BudgetPolicy

from .control import Live, Registry
from .schema import (
    DEFAULT_EFFORT_BUDGETS,
    ChatRequest,
    CompletionRequest,
    Control,
    Plan,
    RequestError,
    apply_control,
    chat_messages,
    check_control,
    event_to_wire,
    item_to_wire,
    parse_body,
    plan_request,
    result_to_wire,
)

OPEN_PATHS = frozenset({"/health"})
FINISH_REASONS = {"stop": "stop", "length": "length", "stopped": "stop"}


@dataclass
class ServeConfig:
    """What the server adds to the engine: names, limits, security and request defaults."""

    served_model_name: str | None = None  # default: the engine's model
    api_key: str | None = None  # set: every route but /health needs Authorization: Bearer
    default_policy: BudgetPolicy = field(default_factory=BudgetPolicy)  # unset fields
    effort_budgets: dict[str, int | str] = field(
        default_factory=lambda: dict(DEFAULT_EFFORT_BUDGETS)
    )
    max_body_bytes: int = 1 << 20
    max_prompt_tokens: int | None = None  # default: all the context but one token
    # a stream writes at most one chunk per interval (seconds) once its first text is out:
    # what arrives meanwhile goes in the next chunk (0: a chunk per token as it comes)
    stream_interval: float = 0.05


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _Auth:
    """Pure ASGI middleware: every route but the open ones needs the bearer key."""

    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.key = key.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        scheme, _, token = given.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key):
            await self.app(scope, receive, send)
            return
        err = RequestError(
            "missing or wrong API key (send the header Authorization: Bearer KEY)", status=401
        )
        body = _dumps(err.body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refused (413) past `limit` bytes before it is all read."""
    size = request.headers.get("content-length")
    too_big = RequestError(
        f"the request body is over this server's limit of {limit} bytes "
        "(shorten the prompt, or start the server with a larger --max-request-bytes)",
        status=413,
    )
    if size is not None and size.isdigit() and int(size) > limit:
        raise too_big
    chunks, n = [], 0
    async for chunk in request.stream():
        n += len(chunk)
        if n > limit:
            raise too_big
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(f"the request body is not valid JSON: {e}") from None


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


def _usage(r: Result) -> dict[str, Any]:
    return {
        "prompt_tokens": len(r.prompt_ids),
        "completion_tokens": len(r.output_ids),
        "total_tokens": len(r.prompt_ids) + len(r.output_ids),
        "completion_tokens_details": {"reasoning_tokens": r.thinking_tokens},
    }


def _summary(r: Result, session: Any, detail: bool, events: bool) -> dict[str, Any]:
    """The `s1` record of a finished request (events left out when they were streamed)."""
    out: dict[str, Any] = {
        "finish_reason": r.finish_reason,
        "thinking_tokens": r.thinking_tokens,
        "answer_tokens": r.answer_tokens,
        "budget": session.machine.budget,
        "waits": r.count("wait"),
    }
    if events:
        out["events"] = [event_to_wire(e) for e in r.events]
    if detail:
        out["result"] = result_to_wire(r)
    return out


def _error_text(r: Result) -> str:
    errors = [e.text for e in r.events if e.kind == "error"]
    return errors[-1] if errors else "the engine ended the request with an error"


def create_app(engine: Any, config: ServeConfig | None = None) -> FastAPI:
    """The FastAPI app serving `engine` (an `s1_engine.Engine`, started and owned by the caller)."""
    cfg = config or ServeConfig()
    model_name = cfg.served_model_name or str(engine.model)
    names = {model_name, str(engine.model), str(engine.model).rstrip("/").split("/")[-1]}
    registry = Registry()
    app = FastAPI(title="s1 serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.registry = registry
    app.state.config = cfg
    if cfg.api_key:
        app.add_middleware(_Auth, key=cfg.api_key)

    @app.exception_handler(RequestError)
    async def _request_error(_: Request, e: RequestError) -> JSONResponse:
        return JSONResponse(e.body(), status_code=e.status)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": model_name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "s1",
                    "max_model_len": engine.max_model_len,
                    "s1": {
                        **engine.describe(),
                        "default_policy": _policy_info(cfg.default_policy),
                        "reasoning_effort": cfg.effort_budgets,
                    },
                }
            ],
        }

    @app.get("/v1/requests")
    async def requests() -> dict[str, Any]:
        return {"running": registry.ids(), "engine_unfinished": engine.backend.num_unfinished()}

    @app.post("/v1/requests/{request_id}/control")
    async def control(request_id: str, request: Request) -> dict[str, Any]:
        c = parse_body(Control, await _read_json(request, cfg.max_body_bytes))
        check_control(c)
        live = registry.get(request_id)
        apply_control(live.session, c)
        m = live.session.machine
        return {
            "id": request_id,
            "action": c.action,
            "queued": True,  # applied at the next token boundary: see the stream's events
            "phase": m.phase,
            "thinking_tokens": m.thinking_tokens,
        }

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        req = parse_body(ChatRequest, await _read_json(request, cfg.max_body_bytes))
        plan = plan_request(req, cfg.default_policy, cfg.effort_budgets)
        _check_model(req.model)
        messages = chat_messages(req)
        try:
            ids = engine.prompt_ids(messages, format=plan.thinking_format)
        except S1Error as e:
            raise RequestError(e.line()) from None
        return await _run(request, "chat", ids, plan)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        req = parse_body(CompletionRequest, await _read_json(request, cfg.max_body_bytes))
        plan = plan_request(req, cfg.default_policy, cfg.effort_budgets)
        _check_model(req.model)
        return await _run(request, "completion", _completion_ids(req.prompt), plan)

    def _check_model(name: str | None) -> None:
        if name is not None and name not in names:
            raise RequestError(
                f"model {name!r} is not served here (this server serves {model_name!r})",
                status=404,
                param="model",
                code="model_not_found",
            )

    def _completion_ids(prompt: Any) -> list[int]:
        if isinstance(prompt, list) and prompt and isinstance(prompt[0], str | list):
            if len(prompt) != 1:
                raise RequestError(
                    f"prompt holds {len(prompt)} prompts; send one per request", param="prompt"
                )
            prompt = prompt[0]
        if isinstance(prompt, str):
            if not prompt:
                raise RequestError("the prompt is empty", param="prompt")
            return list(engine.tokenizer(prompt)["input_ids"])
        vocab = len(engine.tokenizer)
        bad = [t for t in prompt if not 0 <= t < vocab]
        if not prompt or bad:
            raise RequestError(
                f"the prompt's token ids must be in [0, {vocab}), got {bad[:3] or '[]'}",
                param="prompt",
            )
        return list(prompt)

    async def _run(request: Request, kind: str, ids: list[int], plan: Plan) -> Any:
        ctx = engine.max_model_len
        fits = min(ctx - 1, cfg.max_prompt_tokens or ctx - 1)
        if len(ids) > fits:
            why = (
                f"this server's context holds {ctx}"
                if fits == ctx - 1
                else f"this server takes prompts of at most {fits} tokens"
            )
            raise RequestError(
                f"the prompt has {len(ids)} tokens but at most {fits} fit ({why}); "
                "shorten the prompt",
                param="messages" if kind == "chat" else "prompt",
                code="context_length_exceeded",
            )
        try:
            session = engine.start(
                ids, plan.policy, format=plan.thinking_format, paused=True, live=plan.stream
            )
        except S1Error as e:
            status = 503 if "closed" in e.problem else 400
            raise RequestError(e.line(), status=status) from None
        for c in plan.interventions:
            apply_control(session, c)
        rid = f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{uuid.uuid4().hex}"
        created = int(time.time())
        registry.add(Live(rid, session, kind, created))
        session.begin()
        if plan.stream:
            return StreamingResponse(
                _stream(session, rid, created, kind, plan, len(ids)),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        try:
            result = await _result_unless_gone(request, session)
        finally:
            _release(session, rid)
        if result is None:
            return JSONResponse({}, status_code=499)  # nobody is listening
        if result.finish_reason == "error":
            raise RequestError(f"generation failed: {_error_text(result)}", status=500)
        return _response(session, result, rid, created, kind, plan)

    def _release(session: Any, rid: str) -> None:
        """The request is over for its client: if the engine still runs it (the client went
        away, or the server is stopping), stop it now, which aborts its backend request."""
        gone = not session.done
        if gone:
            session.stop()
        registry.finish(rid, "its client disconnected" if gone else "done")

    def _response(
        session: Any, r: Result, rid: str, created: int, kind: str, plan: Plan
    ) -> dict[str, Any]:
        m = session.machine
        dec = engine.tokenizer.decode

        def seg(*names: str) -> str:
            ids = [t for t, s in zip(m.out, m.segments) if s in names]
            return dec(ids, skip_special_tokens=False).lstrip() if ids else ""

        reasoning, content = seg("think"), seg("pre", "answer")
        finish = FINISH_REASONS.get(r.finish_reason, r.finish_reason)
        if kind == "chat":
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if plan.include_reasoning:
                message["reasoning_content"] = reasoning
            choice: dict[str, Any] = {
                "index": 0,
                "message": message,
                "finish_reason": finish,
                "logprobs": None,
            }
            obj = "chat.completion"
        else:
            choice = {"index": 0, "text": content, "finish_reason": finish, "logprobs": None}
            if plan.include_reasoning:
                choice["reasoning_content"] = reasoning
            obj = "text_completion"
        return {
            "id": rid,
            "object": obj,
            "created": created,
            "model": model_name,
            "choices": [choice],
            "usage": _usage(r),
            "s1": _summary(r, session, plan.detail, events=True),
        }

    async def _stream(
        session: Any, rid: str, created: int, kind: str, plan: Plan, n_prompt: int
    ) -> AsyncIterator[str]:
        chat = kind == "chat"
        head = _dumps({"id": rid, "object": "chat.completion.chunk" if chat else "text_completion"})
        head = head[:-1] + f',"created":{created},"model":{_dumps(model_name)},"choices":[{{'
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
                extra = ',"s1":' + _dumps({"items": list(items), "budget": session.machine.budget})
            reasoning.clear(), content.clear(), events.clear(), items.clear()
            if not body and not extra:
                return None
            if not chat:
                body.setdefault("text", "")
            inner = _dumps(body)
            if not chat:
                inner = inner[1:-1]  # a completion choice holds the fields itself
            return f"data: {head}{inner}{tail}{extra}}}\n\n"

        try:
            first: dict[str, Any] = {"role": "assistant", "content": ""} if chat else {"text": ""}
            opening = _dumps(first) if chat else _dumps(first)[1:-1]
            extra = ""
            if plan.detail:
                extra = ',"s1":' + _dumps({"items": [], "budget": session.machine.budget})
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
                    if cfg.stream_interval > 0 and not ended and (text.reasoning or text.content):
                        # let the tokens of the next interval gather in the session's queue
                        await asyncio.sleep(cfg.stream_interval)
            result = await session.aresult()
            if result.finish_reason == "error":
                err = RequestError(f"generation failed: {_error_text(result)}", status=500)
                yield f"data: {_dumps(err.body())}\n\n"
                return
            finish = FINISH_REASONS.get(result.finish_reason, result.finish_reason)
            s1 = _dumps(_summary(result, session, plan.detail, events=False))
            last = "{}" if chat else '"text":""'
            yield (
                f"data: {head}{last},"
                f'"finish_reason":{_dumps(finish)},"logprobs":null}}],"s1":{s1}}}\n\n'
            )
            if plan.include_usage:
                usage = _dumps(
                    {
                        "id": rid,
                        "object": "chat.completion.chunk" if chat else "text_completion",
                        "created": created,
                        "model": model_name,
                        "choices": [],
                        "usage": _usage(result),
                    }
                )
                yield f"data: {usage}\n\n"
            yield "data: [DONE]\n\n"
        finally:
            _release(session, rid)

    return app


async def _result_unless_gone(request: Request, session: Any) -> Result | None:
    """The request's result, or None if its client disconnects first."""

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    result = asyncio.ensure_future(session.aresult())
    watch = asyncio.ensure_future(gone())
    try:
        await asyncio.wait({result, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
    if result.done():
        return result.result()
    result.cancel()
    return None


def _policy_info(p: BudgetPolicy) -> dict[str, Any]:
    return {
        "max_thinking_tokens": p.max_thinking_tokens,
        "min_thinking_tokens": p.min_thinking_tokens,
        "num_ignore": p.num_ignore,
        "ignore_str": p.ignore_str if isinstance(p.ignore_str, str) else list(p.ignore_str),
        "answer_max_tokens": p.answer_max_tokens,
        "temperature": p.thinking.temperature,
    }
