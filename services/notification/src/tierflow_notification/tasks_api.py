"""The advisor workbench's task API, served on the notification service's HTTP port.

    GET  /v1/tasks?advisor_id=ADV017&status=open&limit=100&after=<task_id>   scope task:read
    GET  /v1/tasks?queue=outreach ...   the outreach team's queue (tasks with no advisor)
    POST /v1/tasks/{task_id}/done                                              scope task:write

Bearer JWTs are checked exactly as the routing API checks them (tierflow_common.auth).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tierflow_common.auth import AuthenticationError, Principal, TokenVerifier
from tierflow_notification.adapters import repository

SCOPE_TASK_READ = "task:read"
SCOPE_TASK_WRITE = "task:write"
STATUSES = frozenset({"open", "done", "cancelled"})


def _error(status: int, error: str, detail: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="tierflow"'} if status == 401 else None
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _task(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (value.isoformat() if isinstance(value, datetime) else str(value) if isinstance(value, UUID) else value)
        for key, value in row.items()
    }


def task_routes(engine: AsyncEngine, verifier: TokenVerifier) -> list[Route]:
    def authorized(scope: str, handler: Callable[[Request, Principal], Awaitable[Response]]) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                principal = verifier.verify_header(request.headers.get("Authorization"))
            except AuthenticationError as exc:
                return _error(401, "unauthorized", str(exc))
            if scope not in principal.scopes:
                return _error(403, "forbidden", f"scope {scope} required")
            return await handler(request, principal)

        return endpoint

    async def list_tasks(request: Request, _: Principal) -> Response:
        query = request.query_params
        advisor_id = query.get("advisor_id")
        if (advisor_id is None) == (query.get("queue") != "outreach"):
            return _error(422, "invalid_request", "give advisor_id, or queue=outreach for tasks without an advisor")
        status = query.get("status", "open")
        if status not in STATUSES:
            return _error(422, "invalid_request", f"status must be one of {sorted(STATUSES)}")
        try:
            limit = int(query.get("limit", "100"))
            after = UUID(query["after"]) if "after" in query else None
        except ValueError:
            return _error(422, "invalid_request", "limit must be an integer and after a task id")
        if not 1 <= limit <= 500:
            return _error(422, "invalid_request", "limit must be between 1 and 500")
        async with engine.connect() as conn:
            rows = await repository.list_tasks(conn, advisor_id=advisor_id, status=status, limit=limit, after=after)
        items = [_task(r) for r in rows]
        return JSONResponse({"items": items, "next_after": items[-1]["task_id"] if len(items) == limit else None})

    async def close(request: Request, principal: Principal) -> Response:
        try:
            task_id = UUID(request.path_params["task_id"])
        except ValueError:
            return _error(422, "invalid_request", "task_id must be a UUID")
        async with engine.begin() as conn:
            row = await repository.close_task(conn, task_id=task_id, by=principal.subject, now=datetime.now(UTC))
        if row is None:
            return _error(404, "not_found", "no such task")
        return JSONResponse(_task(row))

    return [
        Route("/v1/tasks", authorized(SCOPE_TASK_READ, list_tasks), methods=["GET"]),
        Route("/v1/tasks/{task_id}/done", authorized(SCOPE_TASK_WRITE, close), methods=["POST"]),
    ]
