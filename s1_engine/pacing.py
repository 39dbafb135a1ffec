"""A pace for live requests: at most N tokens a second, or none while paused.

The embedded model thinks a whole answer in under a second; no one can press "end
thinking" in time. A console slows it down to a pace a person can follow (`s1 tui
--pace 10`) and holds it while the user types text to inject. Both must hold where the
budget-forcing machine sees the tokens, not only on the screen: a key acts at the next
token the machine takes, so a token shown late but already taken would make a key come
too late without saying so.

`pace_engine(engine, pace)` puts a `PacedBackend` between the engine's sessions and its
backend: it hands the backend's tokens on one at a time at `pace.tokens_per_s` (0: as
they come) and none while `pace.paused`. A request cut by an intervention closes the
backend's stream as before, so tokens the backend made ahead and the machine never
took are dropped. `Pace` is read at every token, so changes apply at once, from any
thread. A stand-in until sessions offer a pace and a pause of their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from .backends.base import Backend, Chunk, GenerateRequest

POLL_S = 0.02  # how often a held request looks at the pace again


class Pace:
    """Tokens a second (0: full speed) and a pause, shared by every paced request."""

    def __init__(self, tokens_per_s: float = 0.0) -> None:
        self.tokens_per_s = float(tokens_per_s)
        self.paused = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    @property
    def holds(self) -> bool:
        """Whether requests are slowed or held now (else tokens pass as they come)."""
        return self.paused or self.tokens_per_s > 0


class PacedBackend:
    """A `Backend` over another, handing its tokens on at the pace."""

    def __init__(self, inner: Backend, pace: Pace) -> None:
        self.inner = inner
        self.pace = pace
        self.name = inner.name
        self.tokenizer = inner.tokenizer
        self.max_model_len = inner.max_model_len

    def __getattr__(self, name: str) -> Any:  # anything else the engine asks its backend
        return getattr(self.inner, name)

    async def start(self) -> None:
        await self.inner.start()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    def num_unfinished(self) -> int:
        return self.inner.num_unfinished()

    async def generate(self, request: GenerateRequest) -> AsyncIterator[Chunk]:
        stream = self.inner.generate(request)
        last = time.perf_counter()
        try:
            async for chunk in stream:
                if not self.pace.holds:
                    last = time.perf_counter()
                    yield chunk
                    continue
                ids = list(chunk.token_ids)
                for i, token in enumerate(ids):
                    last = await self._due(last)
                    yield Chunk([token], chunk.finish_reason if i == len(ids) - 1 else None)
                if not ids:
                    yield chunk
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    async def _due(self, last: float) -> float:
        """Wait until the next token may go (not while paused); the time it goes."""
        while True:
            now = time.perf_counter()
            if self.pace.paused:
                await asyncio.sleep(POLL_S)
                continue
            rate = self.pace.tokens_per_s
            if rate <= 0 or now >= last + 1.0 / rate:
                return now
            await asyncio.sleep(min(last + 1.0 / rate - now, POLL_S))


def pace_engine(engine: object, pace: Pace) -> bool:
    """Pace every request `engine` starts from now on; False if it cannot be paced here
    (a remote engine: its server runs the model)."""
    from .engine import Engine

    if not isinstance(engine, Engine):
        return False
    backend = engine.backend
    if isinstance(backend, PacedBackend):
        backend.pace = pace
    else:
        engine.backend = PacedBackend(backend, pace)  # type: ignore[assignment]
    return True
