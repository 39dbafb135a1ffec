"""A client of `s1 serve` that looks like the in-process engine: `RemoteEngine` / `RemoteSession`.

    engine = RemoteEngine("http://gpu-node:8000", api_key="...")
    session = engine.start("What is 1+2?", BudgetPolicy(max_thinking_tokens=512), paused=True)
    session.force_wait(now=False)      # queued before the first token: sent with the request
    session.begin()
    async for item in session.stream():   # the same TokenDelta / Event items, in order
        ...
    session.end_thinking()             # POST /v1/requests/{id}/control
    result = session.result()          # the same Result (ids, events, forced mask)

A session streams its request (`stream: true`, `s1_detail: true`: every stream item with
its token ids) on the client's own event loop thread, so it serves plain scripts and a
Textual app alike; interventions are posted to the control endpoint in the order they
were made, as soon as the request's id is known. Control calls never raise (as with a
local session, an intervention on a finished request does nothing); a refused one is
kept in `session.control_errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from s1_engine.engine_base import EngineBase
from s1_engine.errors import S1Error
from s1_engine.loopthread import LoopThread
from s1_engine.policy import BudgetPolicy

from .remote_session import RemoteSession, error_message
from .wire import policy_to_wire


class RemoteEngine(EngineBase):
    """An `s1 serve` server, used like an `Engine`: `start()`, `generate()`, `close()`."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        base = url.rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        if not base.startswith(("http://", "https://")):
            raise S1Error(f"cannot read the server address {url!r}", "e.g. http://127.0.0.1:8000")
        self.url = base
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._loop = LoopThread("s1-remote")
        self._closed = False

        async def make() -> Any:
            return httpx.AsyncClient(
                base_url=base,
                headers=self.headers,
                timeout=httpx.Timeout(timeout, read=None),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            )

        self.client = self._loop.run(make())
        try:
            info = self._loop.run(self._get("/v1/models"), timeout + 5)["data"][0]
        except BaseException:
            self.close()
            raise
        s1 = info.get("s1", {})
        self.model: str = info["id"]
        self.max_model_len: int = int(info.get("max_model_len") or s1.get("max_model_len") or 0)
        self.backend_name: str = str(s1.get("backend", "remote"))
        self.format_name: str = str(s1.get("format", "auto"))
        self.info = info

    async def _get(self, path: str) -> Any:
        import httpx

        try:
            r = await self.client.get(path)
        except httpx.HTTPError as e:
            raise S1Error(
                f"cannot reach s1 serve at {self.url}: {type(e).__name__}: {e}",
                "start it with `s1 serve`, or check the address",
            ) from None
        if r.status_code == 401:
            raise S1Error(
                f"{self.url} refused the API key", "pass the server's key (its --api-key)"
            )
        if r.status_code != 200:
            raise S1Error(
                f"{self.url}{path}: {error_message(r.text, r.status_code)}",
                "is this an s1 serve server?",
            )
        return r.json()

    # ----- requests ---------------------------------------------------------------------
    def start(
        self,
        prompt: str | Sequence[int] | Sequence[dict],
        policy: BudgetPolicy | None = None,
        format: str | None = None,
        paused: bool = False,
        live: bool = True,  # noqa: ARG002 - see below
    ) -> RemoteSession:
        """Start one request on the server and return its live session (as `Engine.start`).

        A remote request always streams (`live` is accepted for `EngineLike`, and does not
        change the result): the server batches its engine either way."""
        if self._closed:
            raise S1Error("the remote engine is closed", "create a new RemoteEngine")
        body: dict[str, Any] = {"stream": True, "s1_detail": True}
        if isinstance(prompt, str):
            route, body["messages"] = "/v1/chat/completions", [{"role": "user", "content": prompt}]
        elif prompt and isinstance(prompt[0], dict):
            route, body["messages"] = "/v1/chat/completions", list(prompt)
        else:
            route, body["prompt"] = "/v1/completions", [int(t) for t in prompt]  # type: ignore[union-attr]
        if policy is not None:
            if policy.answer != policy.thinking:
                raise S1Error(
                    "a remote request samples both phases alike",
                    "give the policy one sampling config (thinking == answer)",
                )
            if not policy.lead_in_on_user_end:
                raise S1Error(
                    "s1 serve always writes the answer lead-in after a user's end of thinking",
                    "leave lead_in_on_user_end at True",
                )
            body.update(policy_to_wire(policy))
        if format not in (None, ""):
            body["thinking_format"] = format
        session = RemoteSession(self.client, self._loop, route, body, policy)
        if not paused:
            session.begin()
        return session

    def running(self) -> dict[str, Any]:
        """The server's running request ids and the engine's unfinished backend requests."""
        return self._loop.run(self._get("/v1/requests"), 30)

    # ----- lifetime ---------------------------------------------------------------------
    def _shutdown(self) -> None:
        """Close the connections (a running request's stream ends: the server stops it)."""
        try:
            self._loop.run(self.client.aclose(), 10)
        except Exception:
            pass

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "url": self.url}
