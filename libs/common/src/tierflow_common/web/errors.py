"""One error shape for every tierflow HTTP API: `{"error": code, "detail": sentence}`, mapped in one place."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from tierflow_common.auth import AuthenticationError, PermissionDenied
from tierflow_common.exceptions import ApplicationError, Conflict, Forbidden, Invalid, NotFound, Unavailable
from tierflow_common.kafka.outcomes import is_transient
from tierflow_common.metrics import RATE_LIMITED
from tierflow_common.web.ratelimit import RateLimited


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: a machine-readable code and a sentence for humans."""

    error: str = Field(examples=["forbidden"])
    detail: str = Field(examples=["this token may read only its own customer"])


STATUS_OF: dict[type[ApplicationError], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Unavailable: 503,
}
CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}
DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "Missing, expired or invalid bearer token.",
    403: "The token's scopes do not allow this (a customer token may read only its own customer).",
    404: "Nothing known for this id yet.",
    409: "The request conflicts with the current state.",
    413: "The request body is over the limit for this path; refused before it is read.",
    422: "The request is malformed or breaks a rule; the detail names the field and the rule.",
    429: "Too many requests for this client; retry after the Retry-After header's seconds.",
    503: "The service cannot answer yet.",
}
WWW_AUTHENTICATE = 'Bearer realm="tierflow"'
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (sa_exc.DBAPIError, OSError, TimeoutError, RedisConnectionError)
"""What a request may meet when PostgreSQL, Redis or the broker is away; `is_transient` decides."""
RETRY_AFTER_S = 1
log = logging.getLogger(__name__)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def error_response(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error body every endpoint answers with."""
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def status_of(exc: ApplicationError) -> int:
    """The HTTP status of an application error's category."""
    for category, status in STATUS_OF.items():
        if isinstance(exc, category):
            return status
    return 400


def documented(*codes: int, **described: str) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses` for an operation: the auth, size and validation errors every endpoint can give, plus `codes`.

    `described` overrides a description by status (`documented(404, s404="No decision yet.")`).
    """
    texts = {**DESCRIPTIONS, **{int(k[1:]): v for k, v in described.items()}}
    return {
        code: {"model": ErrorBody, "description": texts[code]} for code in sorted({401, 403, 413, 422, 429, *codes})
    }


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method served on `path`, from the OpenAPI document (one path may be several routes)."""
    table = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = [
            (compile_path(template)[0], {m.upper() for m in operations} & HTTP_METHODS)
            for template, operations in app.openapi()["paths"].items()
        ]
        app.state.allowed_methods = table
    methods: set[str] = set()
    for regex, served in table:
        if regex.match(path):
            methods |= served
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Map auth, rate limits, application errors, HTTP and validation errors to the one error body."""

    @app.exception_handler(AuthenticationError)
    async def unauthorized(_: Request, exc: AuthenticationError) -> JSONResponse:
        return error_response(401, "unauthorized", str(exc), {"WWW-Authenticate": WWW_AUTHENTICATE})

    @app.exception_handler(PermissionDenied)
    async def forbidden(_: Request, exc: PermissionDenied) -> JSONResponse:
        return error_response(403, "forbidden", str(exc))

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        route = request.scope.get("route")
        RATE_LIMITED.labels(getattr(route, "path", "unmatched")).inc()
        return error_response(429, "rate_limited", str(exc), {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(ApplicationError)
    async def refused(_: Request, exc: ApplicationError) -> JSONResponse:
        return error_response(status_of(exc), exc.code, exc.detail)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        allowed = _allowed_methods(app, request.url.path) if exc.status_code == 405 else []
        if allowed:  # a path outside the OpenAPI document (/healthz) keeps the Allow its route gave
            headers["Allow"] = ", ".join(allowed)
        return error_response(exc.status_code, CODE_OF_STATUS.get(exc.status_code, "error"), str(exc.detail), headers)

    async def dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
        """A dependency outage (PostgreSQL restarting or read-only, Redis or the broker away) is a 503 with
        Retry-After, logged as a warning; anything else stays a 500 with its traceback."""
        if not is_transient(exc):
            raise exc
        route = request.scope.get("route")
        log.warning(
            "dependency unavailable",
            extra={"route": getattr(route, "path", "unmatched"), "error": type(exc).__name__},
        )
        return error_response(
            503,
            "unavailable",
            "a dependency (database, cache or broker) is unavailable for a moment; retry",
            {"Retry-After": str(RETRY_AFTER_S)},
        )

    for dependency_error in DEPENDENCY_ERRORS:
        app.add_exception_handler(dependency_error, dependency_unavailable)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return error_response(422, "invalid_request", "; ".join(parts))
