"""One request on an `s1 serve` server, with the public surface of `s1_engine.Session`
(see `s1_serve.client` for the engine side): the same stream items, read from the
request's SSE stream (`s1_detail`), and interventions posted to the control endpoint in
the order they were made, once the request's id is known."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from s1_engine import events as ev
from s1_engine.events import Event, Result, StreamItem, TokenDelta
from s1_engine.itemlog import ItemLog, LoggedSession
from s1_engine.loopthread import LoopThread
from s1_engine.policy import BudgetPolicy
from s1_engine.protocols import SessionState
from s1_engine.reducer import StreamState
from s1_engine.wire import item_from_wire, result_from_wire

from .actions import body


def error_message(resp_text: str, status: int) -> str:
    """The one-line message of an error response (the server's, or the status)."""
    try:
        return json.loads(resp_text)["error"]["message"]
    except Exception:
        return f"HTTP {status}: {resp_text[:200]}"


class RemoteSession(LoggedSession):
    """One request on an `s1 serve` server, with the public surface of `s1_engine.Session`."""

    def __init__(
        self,
        client: Any,
        loop: LoopThread,
        route: str,
        body: dict[str, Any],
        policy: BudgetPolicy | None,
    ) -> None:
        self.client = client  # the engine's httpx.AsyncClient, on `loop`
        self.id: str | None = None  # the server's request id, once its first chunk arrived
        self.live = True
        self.reduced = StreamState(budget=policy.max_thinking_tokens if policy else "auto")
        self._budget_tokens: int | None = None
        self.control_errors: list[str] = []
        self._route = route
        self._body = body
        self._loop = loop
        self._pending: list[dict[str, Any]] = []  # interventions before begin()
        self._controls: asyncio.Queue[dict[str, Any]] | None = None
        self._lock = threading.Lock()
        self.log = ItemLog()
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
        self._loop.submit(self._run())

    # ----- control, from anywhere -------------------------------------------------------
    def _post(self, control: dict[str, Any]) -> None:
        with self._lock:
            if not self._begun:
                self._pending.append(control)
                return
        self._loop.call(self._enqueue, control)

    def _enqueue(self, control: dict[str, Any]) -> None:
        if self._controls is None:
            self._controls = asyncio.Queue()
        self._controls.put_nowait(control)

    def force_wait(self, text: str | None = None, now: bool = True) -> None:
        """Think longer: the ignore string now, or at the model's next end attempt."""
        self._post(body("force_wait", text=text) if now else body("wait_at_end"))

    def end_thinking(self) -> None:
        self._post(body("end_thinking"))

    def inject(self, text: str) -> None:
        self._post(body("inject", text=text))

    def stop(self) -> None:
        self._post(body("stop"))

    def set_budget(self, budget: int | str) -> None:
        self._post(body("set_budget", budget=budget))

    def set_ignore_str(self, ignore_str: str | tuple[str, ...]) -> None:
        value = ignore_str if isinstance(ignore_str, str) else list(ignore_str)
        self._post(body("set_ignore_str", ignore_str=value))

    # ----- reading (the rest comes from LoggedSession) ----------------------------------
    @property
    def state(self) -> SessionState:
        r = self.reduced
        return SessionState(
            budget=r.budget,
            budget_tokens=self._budget_tokens,
            phase=r.phase,
            thinking_tokens=r.thinking_tokens,
            answer_tokens=r.answer_tokens,
            finish_reason=r.finish_reason or None,
        )

    def _publish(self, item: StreamItem) -> None:
        with self._lock:
            self.reduced.feed(item)
        self.log.publish(item)

    # ----- the request, on the client's loop --------------------------------------------
    async def _send_controls(self) -> None:
        if self._controls is None:
            self._controls = asyncio.Queue()
        while True:
            control = await self._controls.get()
            try:
                r = await self.client.post(f"/v1/requests/{self.id}/control", json=control)
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
            async with self.client.stream("POST", self._route, json=self._body) as resp:
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
                        if isinstance(s1.get("budget"), int):
                            self._budget_tokens = s1["budget"]
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
            self.log.close(result)

    def _failed(self, message: str) -> Result:
        """The request ended without the server's result: an error, as a local session's."""
        items = self.log.items()
        n = sum(len(x.token_ids) for x in items if isinstance(x, TokenDelta))
        m = self.reduced
        for e in (
            Event(ev.ERROR, "model", n, message, m.thinking_tokens),
            Event(ev.FINISH, "model", n, "error", m.thinking_tokens),
        ):
            self._publish(e)
        return Result(
            prompt_ids=[],
            output_ids=[t for x in items if isinstance(x, TokenDelta) for t in x.token_ids],
            thinking="",
            answer="",
            thinking_tokens=m.thinking_tokens,
            answer_tokens=m.answer_tokens,
            events=[x for x in self.log.items() if isinstance(x, Event)],
            finish_reason="error",
            seconds=time.perf_counter() - self.started_at,
        )
