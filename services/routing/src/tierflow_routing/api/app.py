"""The routing API application: front ends ask where a customer goes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tierflow_common.db.engine import ping
from tierflow_common.entrypoint import tune_garbage_collector
from tierflow_common.http_metrics import HttpMetricsMiddleware
from tierflow_common.ops import ops_routes
from tierflow_common.web.errors import install_error_handlers
from tierflow_common.web.guard import BodyLimits, RequestGuard
from tierflow_routing.api.routes import advisors, customers, experiments, lists, policies, scorecards, waitlist
from tierflow_routing.bootstrap import ApiDependencies, build_api_dependencies
from tierflow_routing.settings import RoutingSettings

DESCRIPTION = """
Where each customer goes: private advisor, robo-advisor, community or reactivation.

Every `/v1` endpoint needs `Authorization: Bearer <JWT>` with the scopes named on it.
`/healthz`, `/readyz` and `/metrics` are open. Request bodies are limited (413), and a request with a
body is refused (401, 429) before its body is read when its token is missing, invalid or over its limit.
"""


def create_app(settings: RoutingSettings | None = None, clients: ApiDependencies | None = None) -> FastAPI:
    """Build the API; `clients` may be injected (tests), otherwise they are built from settings at startup."""
    settings = settings or RoutingSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        deps = clients or build_api_dependencies(settings)
        app.state.clients = deps
        app.state.routing = deps.routing
        app.state.gate = deps.gate
        await deps.routing.policy.refresh()
        if clients is None:
            tune_garbage_collector()  # fewer collections: request handling makes many short-lived objects
        try:
            yield
        finally:
            if clients is None:
                await deps.close()

    app = FastAPI(
        title="tierflow routing API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    limits = BodyLimits(settings.api_max_body_bytes, {"/v1/policies": settings.api_max_policy_body_bytes})
    app.add_middleware(RequestGuard, limits=limits)  # inside the metrics: its refusals are counted
    app.add_middleware(HttpMetricsMiddleware)
    for module in (customers, lists, advisors, scorecards, waitlist, policies, experiments):
        app.include_router(module.router)

    async def database() -> None:
        await ping(app.state.routing.engine)

    for route in ops_routes(service="routing-api", checks={"database": database}, alive=lambda: True):
        app.router.routes.append(route)

    install_error_handlers(app)
    return app
