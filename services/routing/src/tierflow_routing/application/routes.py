"""Routes for advisor workbenches: filtered, in customer id order, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from tierflow_routing.adapters import routes
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.domain.read_model import RouteRead


@dataclass(frozen=True, slots=True)
class RoutePage:
    """One page of routes; `more` when another page follows the last customer on this one."""

    items: list[RouteRead]
    more: bool


async def list_routes(
    ctx: RoutingContext,
    *,
    flow: str | None,
    advisor_id: str | None,
    tier: str | None,
    after: str | None,
    limit: int,
) -> RoutePage:
    """Active routes after the customer id `after`, at most `limit`."""
    async with ctx.engine.connect() as conn:
        rows = await routes.list_routes(conn, flow=flow, advisor_id=advisor_id, tier=tier, after=after, limit=limit + 1)
    return RoutePage(items=rows[:limit], more=len(rows) > limit)
