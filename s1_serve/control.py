"""The server's running requests, by the id a client sees, for the control endpoint.

A request is registered before its first chunk goes out (so a client may steer it as
soon as it knows the id) and leaves when it finishes or its client goes away; the
ids of the last finished requests are remembered, so a late control call gets "has
finished" (409) instead of "no such request" (404).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .schema import RequestError

if TYPE_CHECKING:
    from s1_engine.protocols import SessionLike


@dataclass
class Registered:
    """A request the control endpoint can reach: the id its client sees, its session."""

    id: str
    session: SessionLike


class Registry:
    def __init__(self, remember: int = 1024) -> None:
        self._registered: dict[str, Registered] = {}
        self._finished: OrderedDict[str, str] = OrderedDict()
        self._remember = remember
        self._lock = threading.Lock()

    def add(self, entry: Registered) -> None:
        with self._lock:
            self._registered[entry.id] = entry

    def finish(self, request_id: str, reason: str) -> None:
        with self._lock:
            if self._registered.pop(request_id, None) is None:
                return
            self._finished[request_id] = reason
            while len(self._finished) > self._remember:
                self._finished.popitem(last=False)

    def get(self, request_id: str) -> Registered:
        with self._lock:
            running = self._registered.get(request_id)
            reason = self._finished.get(request_id)
        if running is not None:
            return running
        if reason is not None:
            raise RequestError(
                f"request {request_id!r} has finished ({reason}); control a running request",
                status=409,
                param="id",
            )
        raise RequestError(
            f"no running request {request_id!r} (use the id of the completion being streamed)",
            status=404,
            param="id",
        )

    def finished(self) -> list[tuple[str, str]]:
        """(id, how it ended) of the last finished requests, oldest first."""
        with self._lock:
            return list(self._finished.items())

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._registered)

    def __len__(self) -> int:
        with self._lock:
            return len(self._registered)
