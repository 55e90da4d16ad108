"""The door of every tierflow HTTP API: a request's body is sized, and its caller admitted, before the body is read.

`RequestGuard` is an ASGI middleware. For every HTTP request it

1. for a request to a protected path (`/v1`) that carries a body, admits the caller through the
   app's `Gate` (token, then rate limit) before anything reads the body: 401 without a valid token,
   429 over the limit; the admitted caller is left in the request's state for the route's dependency;
2. answers 413 at once when `Content-Length` declares more than the path's limit;
3. counts a body as it arrives (chunked, or longer than declared) and refuses it with 413 as soon as
   it passes the limit.

Any answer sent before the whole body was read (a refusal, or a route that reads no body) closes the
connection (`Connection: close`), so the server neither reads nor discards the rest of it. A request
without a body is left to the routes: they answer 404 and 405 before the token dependency answers
401, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tierflow_common.auth import AuthenticationError
from tierflow_common.metrics import RATE_LIMITED
from tierflow_common.web.errors import WWW_AUTHENTICATE, error_response
from tierflow_common.web.ratelimit import RateLimited
from tierflow_common.web.security import PRINCIPAL_STATE, Gate

DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """The largest request body, in bytes: `default`, or the limit of the longest matching path prefix."""

    default: int = DEFAULT_MAX_BODY_BYTES
    by_prefix: Mapping[str, int] = field(default_factory=dict)

    def for_path(self, path: str) -> int:
        """The limit that applies to a request path."""
        matching = [prefix for prefix in self.by_prefix if path == prefix or path.startswith(prefix.rstrip("/") + "/")]
        return self.by_prefix[max(matching, key=len)] if matching else self.default


class PayloadTooLarge(HTTPException):
    """The body passed the limit while it was being read (413, the one error body, connection closed)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body is over the limit of {limit} bytes")


class RequestGuard:
    """Refuse oversized bodies (413) and unauthenticated or rate-limited callers (401, 429) before reading a body."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits, protected: str = "/v1") -> None:
        self.app = app
        self.limits = limits
        self.protected = protected.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limits.for_path(scope["path"])
        declared = headers.get("content-length")
        try:
            length = None if declared is None else int(declared)
        except ValueError:
            await _refuse(scope, receive, send, 400, "bad_request", "Content-Length is not a number")
            return
        if not (headers.get("transfer-encoding") or (length or 0) > 0):
            await self.app(scope, receive, send)  # no body: the routes answer as usual
            return
        if self._is_protected(scope["path"]) and not await self._admit(scope, receive, send, headers):
            return
        if length is not None and length > limit:
            await _refuse(scope, receive, send, 413, "payload_too_large", PayloadTooLarge(limit).detail)
            return
        await self._limited(scope, receive, send, limit)

    def _is_protected(self, path: str) -> bool:
        return path == self.protected or path.startswith(self.protected + "/")

    async def _admit(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> bool:
        """Admit the caller through the app's gate; False when a refusal was sent instead."""
        gate: Gate | None = getattr(scope["app"].state, "gate", None)
        if gate is None:  # not started yet: the routes' dependency will refuse
            return True
        client = scope.get("client")
        try:
            principal = await gate.admit(headers.get("authorization"), None if client is None else client[0])
        except AuthenticationError as exc:
            await _refuse(scope, receive, send, 401, "unauthorized", str(exc), {"WWW-Authenticate": WWW_AUTHENTICATE})
            return False
        except RateLimited as exc:
            RATE_LIMITED.labels("unmatched").inc()
            await _refuse(scope, receive, send, 429, "rate_limited", str(exc), {"Retry-After": str(exc.retry_after)})
            return False
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        return True

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app with the body counted as it arrives; 413 (connection closed) once it passes `limit`."""
        received = 0
        complete = False
        started = False

        async def counted() -> Message:
            nonlocal received, complete
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
                complete = not message.get("more_body", False)
            return message

        async def closing(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not complete:  # an answer before the whole body (413, or a route that reads none): skip the rest
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted, closing)
        except PayloadTooLarge as exc:  # an app that does not map HTTP errors itself
            if started:
                raise
            await _refuse(scope, receive, send, 413, "payload_too_large", str(exc.detail))


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    error: str,
    detail: str,
    headers: dict[str, Any] | None = None,
) -> None:
    """The one error body, with the connection closed: the body is never read."""
    response = error_response(status, error, detail, {**(headers or {}), "Connection": "close"})
    await response(scope, receive, send)
