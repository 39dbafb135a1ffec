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
import concurrent.futures
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from . import events as ev
from .backends.base import Backend, Chunk, GenerateRequest
from .detok import IncrementalDecoder
from .events import Result, StreamItem, TokenDelta
from .forcing import BudgetForcer, Tokens

_END = object()


class Session:
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
        self._inbox: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue()
        self._decoder = IncrementalDecoder(tokenizer)
        self._lock = threading.Lock()
        self._items: list[StreamItem] = []
        self._subs: list[tuple[asyncio.AbstractEventLoop | None, Any]] = []
        self._future: concurrent.futures.Future[Result] = concurrent.futures.Future()
        self._closed = False
        self._begun = False
        self.started_at = time.perf_counter()

    def begin(self) -> None:
        """Start the request on the engine loop (once)."""
        if not self._begun:
            self._begun = True
            asyncio.run_coroutine_threadsafe(self.run(), self._loop)

    # ----- control, from anywhere ---------------------------------------------------
    def _post(self, *command: Any) -> None:
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, ("cmd", 0, command))

    def force_wait(self, text: str | None = None, now: bool = True) -> None:
        """Think longer: insert the ignore string now, or at the model's next end attempt."""
        self._post("force_wait", text, now)

    def end_thinking(self) -> None:
        """End thinking now: the delimiter and the answer lead-in follow."""
        self._post("end_thinking")

    def inject(self, text: str) -> None:
        """Insert text into the current segment, as if the model had written it."""
        self._post("inject", text)

    def stop(self) -> None:
        """Stop generating; the request finishes with reason 'stopped'."""
        self._post("stop")

    def set_budget(self, budget: int | str) -> None:
        self._post("set_budget", budget)

    def set_ignore_str(self, ignore_str: str | tuple[str, ...]) -> None:
        self._post("set_ignore_str", ignore_str)

    # ----- reading -------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Result:
        """Block until the request finishes."""
        return self._future.result(timeout)

    async def aresult(self) -> Result:
        return await asyncio.wrap_future(self._future)

    def items(self) -> list[StreamItem]:
        with self._lock:
            return list(self._items)

    async def stream(self) -> AsyncIterator[StreamItem]:
        """Every item of the request, from the start, on the caller's event loop."""
        q: asyncio.Queue[Any] = asyncio.Queue()
        with self._lock:
            backlog = list(self._items)
            closed = self._closed
            if not closed:
                self._subs.append((asyncio.get_running_loop(), q))
        for item in backlog:
            yield item
        if closed:
            return
        while (item := await q.get()) is not _END:
            yield item

    async def stream_batches(self) -> AsyncIterator[list[StreamItem]]:
        """Like `stream()`, but each step yields every item that arrived since the last
        step (at least one): a consumer that falls behind (a server writing to many
        clients) catches up in one write instead of one per token."""
        q: asyncio.Queue[Any] = asyncio.Queue()
        with self._lock:
            backlog = list(self._items)
            closed = self._closed
            if not closed:
                self._subs.append((asyncio.get_running_loop(), q))
        if backlog:
            yield backlog
        if closed:
            return
        while True:
            batch = [await q.get()]
            while not q.empty():
                batch.append(q.get_nowait())
            end = batch[-1] is _END
            if end:
                batch.pop()
            if batch:
                yield batch
            if end:
                return

    def __iter__(self) -> Iterator[StreamItem]:
        q: queue.Queue[Any] = queue.Queue()
        with self._lock:
            backlog = list(self._items)
            closed = self._closed
            if not closed:
                self._subs.append((None, q))
        yield from backlog
        if closed:
            return
        while (item := q.get()) is not _END:
            yield item

    def _publish(self, item: Any) -> None:
        with self._lock:
            if item is _END:
                self._closed = True
            else:
                self._items.append(item)
            for loop, q in self._subs:
                if loop is None:
                    q.put(item)
                else:
                    loop.call_soon_threadsafe(q.put_nowait, item)

    def _flush(self) -> None:
        m = self.machine
        for item in m.drain():
            if isinstance(item, Tokens):
                if not self.live:
                    text = ""  # batch work: the result is decoded once at the end
                else:
                    if item.start < len(self._decoder.ids):
                        self._decoder.truncate(item.start)
                    text = self._decoder.push(item.ids)
                self._publish(
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
                self._publish(item)

    # ----- the driver, on the engine loop ------------------------------------------------
    def _apply(self, command: tuple[Any, ...]) -> bool:
        """Apply one intervention; True if the context changed (cut and continue)."""
        m, name, args = self.machine, command[0], command[1:]
        if m.done:
            return False
        if name == "force_wait":
            text, now = args
            return m.force_wait(text, now) and now
        if name == "end_thinking":
            return m.end_thinking()
        if name == "inject":
            return m.inject(args[0])
        if name == "stop":
            return m.stop()
        if name == "set_budget":
            m.set_budget(args[0])
            return True
        if name == "set_ignore_str":
            m.set_ignore_str(args[0])
            return False
        raise ValueError(f"unknown command {name}")

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
        self.started_at = time.perf_counter()
        m = self.machine
        generation = 0
        reader: asyncio.Task[None] | None = None
        error: BaseException | None = None
        try:
            self._flush()
            while (step := m.next_step()) is not None:
                self._flush()
                generation += 1
                request = GenerateRequest(
                    f"{self.id}-{step.number}",
                    step.context_ids,
                    step.max_tokens,
                    step.sampling,
                    step.stop_ids,
                    cache_key=self.id,
                )
                reader = asyncio.create_task(self._read(generation, request))
                got_tokens = False
                while True:
                    kind, gen, payload = await self._inbox.get()
                    if kind == "cmd":
                        changed = self._apply(payload)
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
                    cut = False
                    for token in chunk.token_ids:
                        if m.feed(token):
                            cut = True
                            break
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
        except Exception as e:  # the engine died, or a bug: end the request, keep the app alive
            error = e
        finally:
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        if error is not None and not m.done:
            m._event(ev.ERROR, "model", f"{type(error).__name__}: {error}")
            m._finish("error", "model")
        self._flush()
        result = self._build_result()
        self._publish(_END)
        self._future.set_result(result)
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
        )
