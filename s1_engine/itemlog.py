"""One request's stream items and its result, for any number of readers on any thread.

A session (local, in-engine or remote) publishes `TokenDelta` / `Event` items here as
they happen and closes the log with its `Result`. Readers subscribe at any time: a late
one first gets everything so far. `LoggedSession` gives a session the whole reading
surface (`stream`, `stream_batches`, iteration, `items`, `result`, `aresult`, `done`)
from its log, so the sessions share one mechanism instead of each rewriting it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .events import Result, StreamItem

_END = object()


class ItemLog:
    """Items in order, their subscribers, and the result future."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[StreamItem] = []
        self._subs: list[tuple[asyncio.AbstractEventLoop | None, Any]] = []
        self._future: concurrent.futures.Future[Result] = concurrent.futures.Future()
        self._closed = False

    # ----- writing ---------------------------------------------------------------------
    def publish(self, item: StreamItem) -> None:
        self._send(item)

    def close(self, result: Result) -> None:
        """No more items; readers' streams end and `result()` returns `result`."""
        self._send(_END)
        if not self._future.done():
            self._future.set_result(result)

    def reopen(self) -> bool:
        """Make a closed log live again (a Wait after the answer thinks on). False if it
        was never closed."""
        with self._lock:
            if not self._future.done():
                return False
            self._closed = False
            self._future = concurrent.futures.Future()
            return True

    def _send(self, item: Any) -> None:
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

    # ----- reading ---------------------------------------------------------------------
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

    def _subscribe(self, skip: int, loop: asyncio.AbstractEventLoop | None, q: Any) -> tuple:
        with self._lock:
            backlog, closed = list(self._items[skip:]), self._closed
            if not closed:
                self._subs.append((loop, q))
        return backlog, closed

    async def stream(self, skip: int = 0) -> AsyncIterator[StreamItem]:
        q: asyncio.Queue[Any] = asyncio.Queue()
        backlog, closed = self._subscribe(skip, asyncio.get_running_loop(), q)
        for item in backlog:
            yield item
        if closed:
            return
        while (item := await q.get()) is not _END:
            yield item

    async def stream_batches(self) -> AsyncIterator[list[StreamItem]]:
        q: asyncio.Queue[Any] = asyncio.Queue()
        backlog, closed = self._subscribe(0, asyncio.get_running_loop(), q)
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
        backlog, closed = self._subscribe(0, None, q)
        yield from backlog
        if closed:
            return
        while (item := q.get()) is not _END:
            yield item


class LoggedSession:
    """The reading surface every session shares, over its `log`."""

    log: ItemLog

    @property
    def done(self) -> bool:
        return self.log.done

    def result(self, timeout: float | None = None) -> Result:
        """Block until the request finishes."""
        return self.log.result(timeout)

    async def aresult(self) -> Result:
        return await self.log.aresult()

    def items(self) -> list[StreamItem]:
        return self.log.items()

    def stream(self, skip: int = 0) -> AsyncIterator[StreamItem]:
        """Every item of the request from item `skip` on, on the caller's event loop."""
        return self.log.stream(skip)

    def stream_batches(self) -> AsyncIterator[list[StreamItem]]:
        """Like `stream()`, but each step yields every item that arrived since the last
        (at least one): a consumer that falls behind (a server writing to many clients)
        catches up in one write instead of one per token."""
        return self.log.stream_batches()

    def __iter__(self) -> Iterator[StreamItem]:
        return iter(self.log)
