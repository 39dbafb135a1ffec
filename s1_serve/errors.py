"""Every error in OpenAI's shape, `x-request-id` on every response, and the API key.

`{"error": {"message", "type", "param", "code"}}` for a refused request (`RequestError`),
a route that does not exist (404), a method a route does not take (405), an unknown
failure (500), and a missing key (401): one line each, naming the problem and the fix.
The two middlewares are pure ASGI (they wrap streaming responses without buffering them).
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .responses import ErrorBody, ErrorResponse

REQUEST_ID = b"x-request-id"


class RequestError(Exception):
    """A request the server refuses: HTTP status and one line naming the problem and fix."""

    def __init__(
        self, message: str, status: int = 400, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code

    def model(self) -> ErrorResponse:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        if self.status == 401:
            kind = "authentication_error"
        if self.status == 404 and self.code is None:
            kind = "not_found_error"
        return ErrorResponse(
            error=ErrorBody(message=self.message, type=kind, param=self.param, code=self.code)
        )

    def body(self) -> dict[str, Any]:
        return self.model().model_dump()

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Refusals, unknown routes, wrong methods and crashes, all in the OpenAI error shape."""

    @app.exception_handler(RequestError)
    async def _refused(_: Request, e: RequestError) -> JSONResponse:
        return e.response()

    @app.exception_handler(HTTPException)
    async def _http(request: Request, e: HTTPException) -> JSONResponse:
        method, path = request.method, request.url.path
        if e.status_code == 404:
            err = RequestError(
                f"no route {method} {path} on s1 serve (see README, 's1 serve', for its routes)",
                status=404,
                code="not_found",
            )
        elif e.status_code == 405:
            allow = next((v for k, v in (e.headers or {}).items() if k.lower() == "allow"), "")
            err = RequestError(
                f"{path} does not take {method}" + (f" (use {allow})" if allow else ""),
                status=405,
                code="method_not_allowed",
            )
        else:
            err = RequestError(str(e.detail), status=e.status_code)
        return err.response(headers=dict(e.headers or {}))

    @app.exception_handler(Exception)
    async def _crash(_: Request, e: Exception) -> JSONResponse:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return RequestError(
            f"the server failed on this request: {type(e).__name__}: {first} (a bug: please "
            "report it with the request)",
            status=500,
        ).response()


async def _send_json(send: Any, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": body})


class RequestIdMiddleware:
    """`x-request-id` on every response: the client's own, or a new `req-...` (as vLLM's
    `--enable-request-id-headers`); kept in `scope["state"]["request_id"]` for the routes."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == REQUEST_ID), b"")
        rid = given[:200] if given.strip() else f"req-{uuid.uuid4().hex}".encode()
        scope.setdefault("state", {})["request_id"] = rid.decode("latin-1")

        async def tagged(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID]
                message = {**message, "headers": [*headers, (REQUEST_ID, rid)]}
            await send(message)

        await self.app(scope, receive, tagged)


class AuthMiddleware:
    """Every route but the open ones needs `Authorization: Bearer KEY` (401 otherwise)."""

    def __init__(self, app: Any, key: str, open_paths: frozenset[str]) -> None:
        self.app = app
        self.key = key.encode()
        self.open_paths = open_paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), b"")
        scheme, _, token = given.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key):
            await self.app(scope, receive, send)
            return
        err = RequestError(
            "missing or wrong API key (send the header Authorization: Bearer KEY)", status=401
        )
        body = err.model().model_dump_json().encode()
        await _send_json(send, 401, body, [(b"www-authenticate", b"Bearer")])
