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
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from s1_engine.errors import S1Error
from s1_engine.events import Result
from s1_engine.policy import BudgetPolicy

from .control import Live, Registry
from .plan import DEFAULT_EFFORT_BUDGETS, Plan, apply_control, check_control, plan_request
from .schema import (
    ChatRequest,
    CompletionRequest,
    Control,
    RequestError,
    chat_messages,
    parse_body,
)
from .stream import FINISH_REASONS, dumps, error_text, sse, summary, usage

OPEN_PATHS = frozenset({"/health"})


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
        body = dumps(err.body()).encode()
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
        return {"running": registry.ids(), "engine_unfinished": engine.num_unfinished()}

    @app.post("/v1/requests/{request_id}/control")
    async def control(request_id: str, request: Request) -> dict[str, Any]:
        c = parse_body(Control, await _read_json(request, cfg.max_body_bytes))
        check_control(c)
        live = registry.get(request_id)
        if live.session.done:  # finished, its last chunks still on their way: never reopen it
            raise RequestError(
                f"request {request_id!r} has finished; control a running request", status=409
            )
        apply_control(live.session, c)
        m = live.session.state
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
                sse(
                    session,
                    rid,
                    created,
                    kind,
                    plan,
                    model_name,
                    cfg.stream_interval,
                    lambda: _release(session, rid),
                ),
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
            raise RequestError(f"generation failed: {error_text(result)}", status=500)
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
        dec = engine.tokenizer.decode

        def seg(*names: str) -> str:
            ids = r.text_ids(*names)
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
            "usage": usage(r),
            "s1": summary(r, session, plan.detail, events=True),
        }

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
