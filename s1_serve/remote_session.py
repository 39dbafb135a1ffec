"""One request on an `s1 serve` server, with the public surface of `s1_engine.Session`
(see `s1_serve.client` for the engine side): the same stream items, read from the
request's SSE stream (`s1_detail`), and interventions posted to the control endpoint in
the order they were made, once the request's id is known."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from s1_engine import events as ev
from s1_engine.events import Event, Result, StreamItem, TokenDelta
from s1_engine.policy import BudgetPolicy

from .wire import item_from_wire, result_from_wire

_END = object()


def error_message(resp_text: str, status: int) -> str:
    """The one-line message of an error response (the server's, or the status)."""
    try:
        return json.loads(resp_text)["error"]["message"]
    except Exception:
        return f"HTTP {status}: {resp_text[:200]}"


@dataclass
class RemoteState:
    """What a local session's `machine` tells about a request, kept from its stream."""

    budget: int | str = "auto"
    phase: str = "pre"  # pre | think | answer | done
    thinking_tokens: int = 0
    answer_tokens: int = 0
    finish_reason: str | None = None
    policy: BudgetPolicy | None = None

    @property
    def done(self) -> bool:
        return self.phase == "done"

    @property
    def budget_left(self) -> int:
        return max(0, self.budget - self.thinking_tokens) if isinstance(self.budget, int) else 0

    def feed(self, item: StreamItem) -> None:
        if isinstance(item, TokenDelta):
            self.thinking_tokens, self.answer_tokens = item.thinking_tokens, item.answer_tokens
        elif item.kind == ev.THINK_START:
            self.phase = "think"
        elif item.kind == ev.END_THINKING:
            self.phase = "answer"
        elif item.kind == ev.FINISH:
            self.phase, self.finish_reason = "done", item.text


class RemoteSession:
    """One request on an `s1 serve` server, with the public surface of `s1_engine.Session`."""

    def __init__(
        self, engine: Any, route: str, body: dict[str, Any], policy: BudgetPolicy | None
    ) -> None:
        self.engine = engine
        self.id: str | None = None  # the server's request id, once its first chunk arrived
        self.live = True
        self.machine = RemoteState(
            budget=policy.max_thinking_tokens if policy else "auto", policy=policy
        )
        self.control_errors: list[str] = []
        self._route = route
        self._body = body
        self._loop = engine._loop.loop
        self._pending: list[dict[str, Any]] = []  # interventions before begin()
        self._controls: asyncio.Queue[dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self._items: list[StreamItem] = []
        self._subs: list[tuple[asyncio.AbstractEventLoop | None, Any]] = []
        self._future: concurrent.futures.Future[Result] = concurrent.futures.Future()
        self._closed = False
        self._begun = False
        self.started_at = time.perf_counter()

    def begin(self) -> None:
        """Send the request (once); interventions made before go with it."""
        with self._lock:
            if self._begun:
                return
            self._begun = True
            if self._pending:
                self._body["interventions"] = list(self._pending)
        asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    # ----- control, from anywhere -------------------------------------------------------
    def _post(self, control: dict[str, Any]) -> None:
        with self._lock:
            if not self._begun:
                self._pending.append(control)
                return
        self._loop.call_soon_threadsafe(self._enqueue, control)

    def _enqueue(self, control: dict[str, Any]) -> None:
        if self._controls is None:
            self._controls = asyncio.Queue()
        self._controls.put_nowait(control)

    def force_wait(self, text: str | None = None, now: bool = True) -> None:
        """Think longer: the ignore string now, or at the model's next end attempt."""
        if now:
            self._post({"action": "force_wait", **({"text": text} if text else {})})
        else:
            self._post({"action": "wait_at_end"})

    def end_thinking(self) -> None:
        self._post({"action": "end_thinking"})

    def inject(self, text: str) -> None:
        self._post({"action": "inject", "text": text})

    def stop(self) -> None:
        self._post({"action": "stop"})

    def set_budget(self, budget: int | str) -> None:
        self._post({"action": "set_budget", "budget": budget})

    def set_ignore_str(self, ignore_str: str | tuple[str, ...]) -> None:
        value = ignore_str if isinstance(ignore_str, str) else list(ignore_str)
        self._post({"action": "set_ignore_str", "ignore_str": value})

    # ----- reading (as Session) ---------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Result:
        return self._future.result(timeout)

    async def aresult(self) -> Result:
        return await asyncio.wrap_future(self._future)

    def items(self) -> list[StreamItem]:
        with self._lock:
            return list(self._items)

    async def stream(self, skip: int = 0) -> AsyncIterator[StreamItem]:
        """Every item from item `skip` on, on the caller's loop (as `Session.stream`)."""
        q: asyncio.Queue[Any] = asyncio.Queue()
        with self._lock:
            backlog, closed = list(self._items[skip:]), self._closed
            if not closed:
                self._subs.append((asyncio.get_running_loop(), q))
        for item in backlog:
            yield item
        if closed:
            return
        while (item := await q.get()) is not _END:
            yield item

    def __iter__(self) -> Iterator[StreamItem]:
        q: queue.Queue[Any] = queue.Queue()
        with self._lock:
            backlog, closed = list(self._items), self._closed
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
                self.machine.feed(item)
            for loop, q in self._subs:
                if loop is None:
                    q.put(item)
                else:
                    loop.call_soon_threadsafe(q.put_nowait, item)

    # ----- the request, on the client's loop --------------------------------------------
    async def _send_controls(self) -> None:
        if self._controls is None:
            self._controls = asyncio.Queue()
        while True:
            control = await self._controls.get()
            try:
                r = await self.engine.client.post(f"/v1/requests/{self.id}/control", json=control)
            except Exception as e:  # noqa: BLE001 - the stream reports a dead server
                self.control_errors.append(f"{control['action']}: {type(e).__name__}: {e}")
                continue
            if r.status_code not in (200, 409):  # 409: it finished meanwhile, as a local no-op
                self.control_errors.append(
                    f"{control['action']}: {error_message(r.text, r.status_code)}"
                )

    async def _run(self) -> None:
        self.started_at = time.perf_counter()
        result: Result | None = None
        error: str | None = None
        sender: asyncio.Task[None] | None = None
        try:
            async with self.engine.client.stream("POST", self._route, json=self._body) as resp:
                if resp.status_code != 200:
                    text = (await resp.aread()).decode("utf-8", "replace")
                    error = error_message(text, resp.status_code)
                else:
                    async for line in resp.aiter_lines():
                        if not line.startswith("data: "):
                            continue
                        data = line[6:]
                        if data == "[DONE]":
                            break
                        chunk = json.loads(data)
                        if "error" in chunk:
                            error = chunk["error"].get("message", "the server reported an error")
                            break
                        if self.id is None:
                            self.id = chunk["id"]
                            sender = asyncio.create_task(self._send_controls())
                        s1 = chunk.get("s1") or {}
                        if "budget" in s1:
                            self.machine.budget = s1["budget"]
                        for d in s1.get("items", ()):
                            self._publish(item_from_wire(d))
                        if "result" in s1:
                            result = result_from_wire(s1["result"])
        except asyncio.CancelledError:
            error = "the remote engine was closed"
            raise
        except Exception as e:  # noqa: BLE001 - a dead server ends the request, not the app
            error = f"{type(e).__name__}: {e}"
        finally:
            if sender is not None:
                sender.cancel()
            if result is None:
                result = self._failed(error or "the stream ended without a result")
            self._publish(_END)
            if not self._future.done():
                self._future.set_result(result)

    def _failed(self, message: str) -> Result:
        """The request ended without the server's result: an error, as a local session's."""
        n = sum(len(x.token_ids) for x in self._items if isinstance(x, TokenDelta))
        m = self.machine
        for e in (
            Event(ev.ERROR, "model", n, message, m.thinking_tokens),
            Event(ev.FINISH, "model", n, "error", m.thinking_tokens),
        ):
            self._publish(e)
        return Result(
            prompt_ids=[],
            output_ids=[t for x in self._items if isinstance(x, TokenDelta) for t in x.token_ids],
            thinking="",
            answer="",
            thinking_tokens=m.thinking_tokens,
            answer_tokens=m.answer_tokens,
            events=[x for x in self._items if isinstance(x, Event)],
            finish_reason="error",
            seconds=time.perf_counter() - self.started_at,
        )
