"""/v1/routes: cursor-paginated routes for advisor workbenches."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from tierflow_common.events.outputs import Flow, Tier
from tierflow_common.web.errors import documented
from tierflow_routing.api.deps import RoutingDep, StaffReaderDep
from tierflow_routing.api.views import RoutePage
from tierflow_routing.application import routes

router = APIRouter(prefix="/v1/routes", tags=["routes"])


CURSOR_CONTENT = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")


def encode_cursor(customer_id: str) -> str:
    """The opaque cursor that continues after this customer."""
    return base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The customer id behind a cursor; 422 for anything this endpoint did not hand out."""
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
    responses=documented(),
    summary="Routes, filtered and cursor-paginated",
    description="Active routes ordered by customer id. Pass `next_cursor` back as `cursor`. Scope: `route:read`.",
)
async def list_routes(
    _: StaffReaderDep,
    routing: RoutingDep,
    flow: Flow | None = None,
    advisor_id: Annotated[str | None, Query(max_length=128, pattern=r"^[A-Za-z0-9_.:/-]+$")] = None,
    tier: Tier | None = None,
    cursor: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> RoutePage:
    after = None if cursor is None else decode_cursor(cursor)
    page = await routes.list_routes(
        routing,
        flow=None if flow is None else flow.value,
        advisor_id=advisor_id,
        tier=None if tier is None else tier.value,
        after=after,
        limit=limit,
    )
    last = page.items[-1].customer_id if page.more and page.items else None
    return RoutePage(items=page.items, next_cursor=None if last is None else encode_cursor(last))
