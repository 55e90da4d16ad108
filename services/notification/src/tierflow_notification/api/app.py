"""The advisor task API application, served on the notification worker's ops port."""

from __future__ import annotations

from fastapi import FastAPI

from tierflow_common.web.errors import install_error_handlers
from tierflow_common.web.guard import BodyLimits, RequestGuard
from tierflow_common.web.security import Gate
from tierflow_notification.api.deps import TaskApiDependencies
from tierflow_notification.api.routes import calls, coverage, tasks

DESCRIPTION = """
The advisor workbench's tasks: welcome calls, urgent retention calls, win-back calls that the
notification service's playbooks open for an advisor (or for the outreach team's queue).

Every `/v1` endpoint needs `Authorization: Bearer <JWT>` with the scope named on it
(`task:read`, `task:write`). `/healthz`, `/readyz` and `/metrics` are open.
Errors are `{"error": code, "detail": sentence}`.
"""
TAGS = [
    {"name": "tasks", "description": "Advisor tasks opened by outreach steps, listed per queue and closed."},
    {"name": "coverage", "description": "The share of an advisor's promised tasks done on time, per tier."},
    {"name": "calls", "description": "Outbound calls per tier against each tier's share of the day's capacity."},
]


def create_app(clients: TaskApiDependencies) -> FastAPI:
    """The task API with its clients; served by the worker's ops server (no lifespan of its own)."""
    app = FastAPI(title="tierflow advisor task API", version="1.0.0", description=DESCRIPTION, openapi_tags=TAGS)
    app.state.clients = clients
    app.state.gate = Gate(verifier=clients.verifier)
    app.add_middleware(RequestGuard, limits=BodyLimits(clients.max_body_bytes))
    app.include_router(tasks.router)
    app.include_router(coverage.router)
    app.include_router(calls.router)
    install_error_handlers(app)
    return app
