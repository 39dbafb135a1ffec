"""The serving class: what the routes do, over one `Engine` (as vLLM's `OpenAIServing*`).

`OpenAIServing` holds the engine, the server's settings and the registry of running
requests; the routers (`s1_serve.routers`) only read the body and call it. A request is
checked whole (`s1_serve.plan`, the engine's own validation of the sampling values) before
it starts; then it streams (`s1_serve.stream`) or is answered whole, and a client that goes
away stops its request in the engine at once.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from s1_engine.errors import S1Error
from s1_engine.events import Result
from s1_engine.policy import BudgetPolicy

from . import actions
from .control import Registered, Registry
from .errors import RequestError
from .plan import DEFAULT_EFFORT_BUDGETS, Plan, plan_request
from .prompts import completion_ids, policy_info
from .responses import (
    ChatChoice,
    ChatCompletion,
    ChatMessage,
    Completion,
    CompletionChoice,
    ControlAccepted,
    ModelCard,
    ModelList,
    Running,
)
from .schema import ChatRequest, CompletionRequest, Control, chat_messages, parse_body
from .stream import FINISH_REASONS, StreamSpec, error_text, sse, summary, usage
from .visible import ANSWER_SEGMENTS, Visible, first_stop

if TYPE_CHECKING:
    from s1_engine.engine import Engine
    from s1_engine.protocols import SessionLike


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


async def read_json(request: Request, limit: int) -> Any:
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


class OpenAIServing:
    def __init__(self, engine: Engine, config: ServeConfig) -> None:
        self.engine = engine
        self.config = config
        self.registry = Registry()
        self.model_name = config.served_model_name or str(engine.model)
        m = str(engine.model)
        self.names = {self.model_name, m, m.rstrip("/").split("/")[-1]}

    # ----- models and requests ---------------------------------------------------------
    def model_card(self) -> ModelCard:
        cfg, engine = self.config, self.engine
        return ModelCard(
            id=self.model_name,
            max_model_len=engine.max_model_len,
            s1={
                **engine.describe(),
                "default_policy": policy_info(cfg.default_policy),
                "reasoning_effort": cfg.effort_budgets,
            },
        )

    def models(self) -> ModelList:
        return ModelList(data=[self.model_card()])

    def model(self, model_id: str) -> ModelCard:
        self.check_model(model_id)
        return self.model_card()

    def running(self) -> Running:
        return Running(running=self.registry.ids(), engine_unfinished=self.engine.num_unfinished())

    def check_model(self, name: str | None) -> None:
        if name is not None and name not in self.names:
            raise RequestError(
                f"model {name!r} is not served here (this server serves {self.model_name!r})",
                status=404,
                param="model",
                code="model_not_found",
            )

    # ----- control ---------------------------------------------------------------------
    def control(self, request_id: str, body: Any) -> ControlAccepted:
        c = parse_body(Control, body)
        actions.check(c)
        live = self.registry.get(request_id)
        if live.session.done:  # finished, its last chunks still on their way: never reopen it
            raise RequestError(
                f"request {request_id!r} has finished; control a running request", status=409
            )
        actions.apply(live.session, c)
        m = live.session.state
        return ControlAccepted(
            id=request_id, action=c.action, phase=m.phase, thinking_tokens=m.thinking_tokens
        )

    # ----- completions -------------------------------------------------------------------
    async def chat(self, request: Request) -> Any:
        req = parse_body(ChatRequest, await read_json(request, self.config.max_body_bytes))
        plan = plan_request(req, self.config.default_policy, self.config.effort_budgets)
        self.check_model(req.model)
        messages = chat_messages(req)
        try:
            ids = self.engine.prompt_ids(messages, format=plan.thinking_format)
        except S1Error as e:
            raise RequestError(e.line()) from None
        return await self._run(request, "chat", ids, plan, {})

    async def completion(self, request: Request) -> Any:
        req = parse_body(CompletionRequest, await read_json(request, self.config.max_body_bytes))
        plan = plan_request(req, self.config.default_policy, self.config.effort_budgets)
        self.check_model(req.model)
        ids, added = completion_ids(self.engine, req.prompt, plan.thinking_format)
        return await self._run(request, "completion", ids, plan, added)

    def _check_sampling(self, policy: BudgetPolicy) -> None:
        """The engine's own validation of the sampling values, before anything runs: what
        vLLM refuses is a 400 naming it, not a failed generation."""
        if self.engine.backend_name != "vllm":
            return
        from vllm import SamplingParams

        s = policy.thinking
        try:
            SamplingParams(
                temperature=s.temperature, top_p=s.top_p, top_k=s.top_k, seed=s.seed, max_tokens=1
            )
        except Exception as e:  # VLLMValidationError, ValueError
            first = (str(e).strip().splitlines() or [type(e).__name__])[0].split(" (parameter=")[0]
            raise RequestError(
                f"the engine (vLLM) refuses this request: {first.rstrip('.')}; change the value",
                param=getattr(e, "parameter", None),
            ) from None

    async def _run(
        self, request: Request, kind: str, ids: list[int], plan: Plan, extra: dict[str, Any]
    ) -> Any:
        engine, cfg = self.engine, self.config
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
        self._check_sampling(plan.policy)
        live = plan.stream or bool(plan.stop)  # stop strings are looked for in the text
        try:
            session = engine.start(
                ids, plan.policy, format=plan.thinking_format, paused=True, live=live
            )
        except S1Error as e:
            status = 503 if "closed" in e.problem else 400
            raise RequestError(e.line(), status=status) from None
        for c in plan.interventions:
            actions.apply(session, c)
        rid = f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{uuid.uuid4().hex}"
        created = int(time.time())
        self.registry.add(Registered(rid, session))
        session.begin()
        if plan.stream:
            spec = StreamSpec(
                rid=rid,
                created=created,
                chat=kind == "chat",
                model=self.model_name,
                include_reasoning=plan.include_reasoning,
                detail=plan.detail,
                include_usage=plan.include_usage,
                continuous_usage=plan.continuous_usage,
                stops=plan.stop,
                prompt_tokens=len(ids),
                interval=cfg.stream_interval,
                extra_s1=extra,
            )
            return StreamingResponse(
                sse(
                    session,
                    spec,
                    lambda: session.state.budget_tokens,
                    lambda: self._release(session, rid),
                ),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        watch = asyncio.ensure_future(_watch_stops(session, plan.stop)) if plan.stop else None
        try:
            result = await _result_unless_gone(request, session)
        finally:
            if watch is not None:
                watch.cancel()
            self._release(session, rid)
        if result is None:
            return JSONResponse({}, status_code=499)  # nobody is listening
        if result.finish_reason == "error":
            raise RequestError(f"generation failed: {error_text(result)}", status=500)
        return self._response(session, result, rid, created, kind, plan, extra)

    def _release(self, session: SessionLike, rid: str) -> None:
        """The request is over for its client: if the engine still runs it (the client went
        away, or the server is stopping), stop it now, which aborts its backend request."""
        gone = not session.done
        if gone:
            session.stop()
        self.registry.finish(rid, "its client disconnected" if gone else "done")

    def _response(
        self,
        session: SessionLike,
        r: Result,
        rid: str,
        created: int,
        kind: str,
        plan: Plan,
        extra: dict[str, Any],
    ) -> ChatCompletion | Completion:
        dec = self.engine.tokenizer.decode

        def seg(*names: str) -> str:
            ids = r.text_ids(*names)
            return dec(ids, skip_special_tokens=False).lstrip() if ids else ""

        reasoning, content = seg("think"), seg(*ANSWER_SEGMENTS)
        stopped_by = None
        if plan.stop and (hit := first_stop(content, plan.stop)) is not None:
            content, stopped_by = content[: hit[0]], hit[1]
        finish = "stop" if stopped_by else FINISH_REASONS.get(r.finish_reason, r.finish_reason)
        shown = reasoning if plan.include_reasoning else None
        s1 = summary(
            r, session.state.budget_tokens, plan.detail, events=True, stopped_by=stopped_by
        )
        s1 = s1.model_copy(update=extra)
        common = {"id": rid, "created": created, "model": self.model_name, "usage": usage(r)}
        if kind == "chat":
            message = ChatMessage(content=content, reasoning_content=shown, reasoning=shown)
            choice = ChatChoice(message=message, finish_reason=finish, stop_reason=stopped_by)
            return ChatCompletion(**common, choices=[choice], s1=s1)
        choice_c = CompletionChoice(
            text=content,
            finish_reason=finish,
            stop_reason=stopped_by,
            reasoning_content=shown,
            reasoning=shown,
        )
        return Completion(**common, choices=[choice_c], s1=s1)


async def _watch_stops(session: SessionLike, stops: tuple[str, ...]) -> None:
    """A request answered whole: stop it in the engine once its answer holds a stop string."""
    v = Visible(stops=stops)
    async for item in session.stream():
        v.take(item)
        if v.stopped_by is not None:
            session.stop()
            return


async def _result_unless_gone(request: Request, session: SessionLike) -> Result | None:
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
