"""/v1/routes: cursor-paginated routes for advisor workbenches."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from tierflow_common.events.outputs import Flow, Tier
from tierflow_routing.adapters import repository
from tierflow_routing.api.deps import ClientsDep, StaffReaderDep
from tierflow_routing.api.routes.customers import errors
from tierflow_routing.api.views import RoutePage
from tierflow_routing.schemas import RouteRead

router = APIRouter(prefix="/v1/routes", tags=["routes"])


CURSOR_CONTENT = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")


def encode_cursor(customer_id: str) -> str:
    return base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HTTPException(status_code=422, detail="cursor: not a cursor returned by this endpoint") from None
    if not CURSOR_CONTENT.fullmatch(raw):  # a customer id, never control characters (PostgreSQL refuses NUL)
        raise HTTPException(status_code=422, detail="cursor: not a cursor returned by this endpoint")
    return raw


@router.get(
    "",
    response_model=RoutePage,
    responses=errors(),  # type: ignore[arg-type]
    summary="Routes, filtered and cursor-paginated",
    description="Active routes ordered by customer id. Pass `next_cursor` back as `cursor`. Scope: `route:read`.",
)
async def list_routes(
    _: StaffReaderDep,
    clients: ClientsDep,
    flow: Flow | None = None,
    advisor_id: Annotated[str | None, Query(max_length=128, pattern=r"^[A-Za-z0-9_.:/-]+$")] = None,
    tier: Tier | None = None,
    cursor: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> RoutePage:
    after = None if cursor is None else decode_cursor(cursor)
    async with clients.engine.connect() as conn:
        rows = await repository.list_routes(
            conn,
            flow=None if flow is None else flow.value,
            advisor_id=advisor_id,
            tier=None if tier is None else tier.value,
            after=after,
            limit=limit + 1,
        )
    page = rows[:limit]
    more = len(rows) > limit
    return RoutePage(
        items=[RouteRead.from_row(r) for r in page],
        next_cursor=encode_cursor(page[-1].customer_id) if more and page else None,
    )
