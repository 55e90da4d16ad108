"""The routing API application: front ends ask where a customer goes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from tierflow_common.db.engine import ping
from tierflow_common.entrypoint import tune_garbage_collector
from tierflow_common.http_metrics import HttpMetricsMiddleware
from tierflow_common.ops import ops_routes
from tierflow_routing.api.ratelimit import RateLimited
from tierflow_routing.api.routes import advisors, customers, lists, policies
from tierflow_routing.api.security import AuthenticationError, PermissionDenied
from tierflow_routing.bootstrap import ApiDependencies, build_api_dependencies
from tierflow_routing.metrics import RATE_LIMITED
from tierflow_routing.settings import RoutingSettings

DESCRIPTION = """
Where each customer goes: private advisor, robo-advisor, community or reactivation.

Every `/v1` endpoint needs `Authorization: Bearer <JWT>` with the scopes named on it.
`/healthz`, `/readyz` and `/metrics` are open.
"""


def _error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the API serves on `path`, from the OpenAPI document (one path may be served by
    several routes, one per method, inside included routers)."""
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


def create_app(settings: RoutingSettings | None = None, clients: ApiDependencies | None = None) -> FastAPI:
    """Build the API; `clients` may be injected (tests), otherwise they are built from settings at startup."""
    settings = settings or RoutingSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = clients or build_api_dependencies(settings)
        await app.state.clients.policy.refresh()
        if clients is None:
            tune_garbage_collector()  # fewer collections: request handling makes many short-lived objects
        try:
            yield
        finally:
            if clients is None:
                await app.state.clients.close()

    app = FastAPI(
        title="tierflow routing API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_middleware(HttpMetricsMiddleware)
    for module in (customers, lists, advisors, policies):
        app.include_router(module.router)

    async def database() -> None:
        await ping(app.state.clients.engine)

    for route in ops_routes(service="routing-api", checks={"database": database}, alive=lambda: True):
        app.router.routes.append(route)

    @app.exception_handler(AuthenticationError)
    async def unauthorized(_: Request, exc: AuthenticationError) -> JSONResponse:
        return _error(401, "unauthorized", str(exc), {"WWW-Authenticate": 'Bearer realm="tierflow"'})

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        route = request.scope.get("route")
        RATE_LIMITED.labels(getattr(route, "path", "unmatched")).inc()
        return _error(429, "rate_limited", str(exc), {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(PermissionDenied)
    async def forbidden(_: Request, exc: PermissionDenied) -> JSONResponse:
        return _error(403, "forbidden", str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        codes = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            422: "invalid_request",
            503: "unavailable",
        }
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(app, request.url.path))
        return _error(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return _error(422, "invalid_request", "; ".join(parts))

    return app
