"""A live request: the budget-forcing machine driven against a backend, with interventions.

The driver runs on the engine's event loop. Control methods (`force_wait`,
`end_thinking`, `inject`, `stop`, `set_budget`, `set_ignore_str`) may be called from
any thread or loop; they are queued and applied at the next token boundary, which
cuts the backend request and continues from the new context. Consumers read the
stream with `async for item in session.stream()` (any event loop), `session.stream_batches()`
(the same items, grouped as they arrived) or `for item in session` (any thread); a late
subscriber first gets everything so far.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from . import events as ev
from .backends.base import Backend, Chunk, GenerateRequest
from .detok import IncrementalDecoder
from .events import Result, TokenDelta
from .forcing import BudgetForcer, Tokens
from .interventions import control_call
from .itemlog import ItemLog, LoggedSession
from .protocols import SessionState
from .steps import Step


def _coalesce(items: list[Tokens | ev.Event]) -> list[Tokens | ev.Event]:
    """Batch work: adjacent ids of one segment and one origin become one item, so a
    backend request costs one stream item, not one per token."""
    out: list[Tokens | ev.Event] = []
    for item in items:
        last = out[-1] if out else None
        if (
            isinstance(item, Tokens)
            and isinstance(last, Tokens)
            and (last.segment, last.forced) == (item.segment, item.forced)
            and last.start + len(last.ids) == item.start
        ):
            out[-1] = Tokens(last.segment, last.ids + item.ids, last.forced, last.start)
        else:
            out.append(item)
    return out


class Session(LoggedSession):
    """A request on a backend, driven through the budget-forcing machine by continuations."""

    def __init__(
        self,
        session_id: str,
        machine: BudgetForcer,
        backend: Backend,
        tokenizer: Any,
        loop: asyncio.AbstractEventLoop,
        live: bool = True,
    ) -> None:
        self.id = session_id
        self.live = live
        self.machine = machine
        self._backend = backend
        self._tokenizer = tokenizer
        self._loop = loop
        self._inbox: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue()  # cmd/chunk/error
        self._decoder = IncrementalDecoder(tokenizer)
        self._lock = threading.Lock()
        self.log = ItemLog()
        self._begun = False
        self._continued = False  # run again after a finish (a Wait after the answer)
        self._generation = 0
        self.started_at = time.perf_counter()

    def begin(self) -> None:
        """Start the request on the engine loop (once)."""
        if not self._begun:
            self._begun = True
            asyncio.run_coroutine_threadsafe(self.run(), self._loop)

    # ----- control, from anywhere ---------------------------------------------------
    def _post(self, intervention: Callable[[BudgetForcer], bool]) -> None:
        """Queue a call on the machine for the next token boundary; it returns whether the
        context changed (then the backend request is cut and continued from it)."""
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, ("cmd", 0, intervention))

    def control(self, action: str, **args: object) -> None:
        """Queue one intervention by name (`interventions.CONTROLS`) for the next token."""
        self._post(control_call(action, args))

    def force_wait(self, text: str | None = None, now: bool = True) -> None:
        """Think longer: insert the ignore string now, or at the model's next end attempt.

        On a finished request with an answer, `now` reopens thinking and the request
        runs on (`result()` then waits for the new end; `stream()` goes on too).
        """
        if now and self._reopen():
            asyncio.run_coroutine_threadsafe(self._continue_with_wait(text), self._loop)
            return
        self.control("force_wait" if now else "wait_at_end", text=text)

    def end_thinking(self) -> None:
        """End thinking now: the delimiter and the answer lead-in follow."""
        self.control("end_thinking")

    def inject(self, text: str) -> None:
        """Insert text into the current segment, as if the model had written it."""
        self.control("inject", text=text)

    def stop(self) -> None:
        """Stop generating; the request finishes with reason 'stopped'."""
        self.control("stop")

    def set_budget(self, budget: int | str) -> None:
        """Change the thinking budget while the request runs."""
        self.control("set_budget", budget=budget)

    def set_ignore_str(self, ignore_str: str | tuple[str, ...]) -> None:
        """The text of the next Waits ("Wait", or a tuple to rotate)."""
        self.control("set_ignore_str", ignore_str=ignore_str)

    def _reopen(self) -> bool:
        """Make a finished session live again, if its machine can think on."""
        with self._lock:
            if not (self.log.done and self.machine.can_reopen()):
                return False
            self._continued = self.log.reopen()
            return self._continued

    async def _continue_with_wait(self, text: str | None) -> None:
        self.machine.force_wait(text, now=True)
        await self.run()

    # ----- reading (the rest comes from LoggedSession) ----------------------------------
    @property
    def state(self) -> SessionState:
        """What consumers may read of the request now (a snapshot)."""
        m = self.machine
        return SessionState(
            budget=m.policy.max_thinking_tokens,
            budget_tokens=m.budget,
            phase=m.phase,
            thinking_tokens=m.thinking_tokens,
            answer_tokens=m.answer_tokens,
            finish_reason=m.finish_reason,
            context_used=len(m.prompt) + len(m.out),
            context_len=m.context_len,
            can_reopen=m.can_reopen(),
        )

    def _flush(self) -> None:
        m = self.machine
        items = m.drain()
        if not self.live:
            items = _coalesce(items)
        for item in items:
            if isinstance(item, Tokens):
                if not self.live:
                    text = ""  # batch work: the result is decoded once at the end
                else:
                    if item.start < len(self._decoder.ids):
                        self._decoder.truncate(item.start)
                    text = self._decoder.push(item.ids)
                self.log.publish(
                    TokenDelta(
                        item.segment,
                        item.ids,
                        text,
                        item.forced,
                        m.thinking_tokens,
                        m.answer_tokens,
                    )
                )
            else:
                self.log.publish(item)

    # ----- the driver, on the engine loop ------------------------------------------------
    async def _read(self, generation: int, request: GenerateRequest) -> None:
        stream = self._backend.generate(request)
        try:
            async for chunk in stream:
                self._inbox.put_nowait(("chunk", generation, chunk))
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._inbox.put_nowait(("error", generation, e))
        finally:
            await stream.aclose()

    async def run(self) -> Result:
        if not self._continued:
            self.started_at = time.perf_counter()
        m = self.machine
        generation = self._generation  # never reused: chunks of cut requests are told apart
        reader: asyncio.Task[None] | None = None
        error: BaseException | None = None
        try:
            self._flush()
            while (step := m.next_step()) is not None:
                self._flush()
                generation += 1
                self._generation = generation
                if step.probe:  # DEER's trial answer: a side request, then its verdict
                    await self._probe(generation, step)
                    continue
                request = GenerateRequest(
                    f"{self.id}-{step.number}",
                    step.context_ids,
                    step.max_tokens,
                    step.sampling,
                    step.stop_ids,
                    cache_key=self.id,
                    # a confidence stop cuts mid-request: tokens as they come, not at the end
                    stream=self.live or bool(m.policy.conf_stop),
                    min_tokens=step.min_tokens,
                    ban_ids=step.ban_ids,
                    logprobs=step.logprobs,
                )
                reader = asyncio.create_task(self._read(generation, request))
                got_tokens = False
                while True:
                    kind, gen, payload = await self._inbox.get()
                    if kind == "cmd":
                        changed = not m.done and payload(m)
                        self._flush()
                        if changed:
                            break
                        continue
                    if gen != generation:
                        continue  # a late chunk of a request we already cut
                    if kind == "error":
                        raise payload
                    chunk: Chunk = payload
                    got_tokens = got_tokens or bool(chunk.token_ids)
                    tops = chunk.top_logprobs if step.logprobs is not None else None
                    if self.live:  # one stream item per sampled token
                        pairs = zip(chunk.token_ids, tops or [None] * len(chunk.token_ids))
                        cut = any(m.feed(token, top) for token, top in pairs)
                    else:  # batch work: a request's tokens in one go
                        cut = m.feed_many(chunk.token_ids, tops)
                    if not cut and chunk.finish_reason is not None:
                        if not got_tokens:
                            raise RuntimeError("the backend ended a request without a token")
                        m.on_request_end(chunk.finish_reason)
                        cut = True
                    self._flush()
                    if cut:
                        break
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                reader = None
        except asyncio.CancelledError:  # the engine is closing: end the request cleanly
            error = RuntimeError("the engine was closed")
        except Exception as e:  # the engine died, or a bug: end the request, keep the app alive
            error = e
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        return self._close_run(error)

    async def _probe(self, generation: int, step: Step) -> None:
        """Run a probe to its end and hand its tokens to the machine. It shares the
        session's prefix (vLLM's prefix caching; the transformers backend crops its cache
        back to the common prefix). Interventions that arrive meanwhile wait for its end."""
        request = GenerateRequest(
            f"{self.id}-probe{step.number}",
            step.context_ids,
            step.max_tokens,
            step.sampling,
            step.stop_ids,
            cache_key=self.id,
            stream=False,
            logprobs=step.logprobs,
        )
        reader = asyncio.create_task(self._read(generation, request))
        tokens: list[int] = []
        lps: list[float] = []
        held: list[Callable[[BudgetForcer], bool]] = []
        try:
            while True:
                kind, gen, payload = await self._inbox.get()
                if kind == "cmd":
                    held.append(payload)
                    continue
                if gen != generation:
                    continue
                if kind == "error":
                    raise payload
                tokens.extend(payload.token_ids)
                lps.extend(payload.logprobs or [float("nan")] * len(payload.token_ids))
                if payload.finish_reason is not None:
                    break
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        self.machine.feed_probe(tokens, lps)
        for call in held:
            if not self.machine.done:
                call(self.machine)
        self._flush()

    def _close_run(self, error: BaseException | None) -> Result:
        """The end of a run, however it ended: an error is the machine's last event, the
        items are published, the result made and the item log closed with it."""
        if error is not None and not self.machine.done:
            self.machine.fail(f"{type(error).__name__}: {error}")
        self._flush()
        result = self._build_result()
        self.log.close(result)
        return result

    def _build_result(self) -> Result:
        m = self.machine
        dec = self._tokenizer.decode

        def text(segment: str) -> str:
            ids = m.segment_ids(segment)  # type: ignore[arg-type]
            return dec(ids, skip_special_tokens=False).strip() if ids else ""

        return Result(
            prompt_ids=list(m.prompt),
            output_ids=list(m.out),
            thinking=text("think"),
            answer=text("answer"),
            thinking_tokens=m.thinking_tokens,
            answer_tokens=m.answer_tokens,
            events=[e for e in m.events],
            finish_reason=m.finish_reason or "error",
            seconds=time.perf_counter() - self.started_at,
            forced_mask=list(m.forced),
            segments=list(m.segments),
            probes=m.probes,
            probe_tokens=m.probe_tokens,
            token_confidences=list(m.token_confidences),
        )
