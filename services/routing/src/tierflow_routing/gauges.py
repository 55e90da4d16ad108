"""Routing's business gauges, refreshed from its own tables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_routing import metrics
from tierflow_routing.adapters import advisors, overrides, routes


def routing_gauges(engine: AsyncEngine, clock: Clock) -> Callable[[], Awaitable[None]]:
    """Customers per flow, advisor load and capacity, waitlist, overrides in force."""

    async def refresh() -> None:
        async with engine.connect() as conn:
            flows = await routes.route_counts(conn)
            team = await advisors.list_advisors(conn)
            waiting = await advisors.waitlist_size(conn)
            active = await overrides.active_count(conn, now=clock.now())
        metrics.CUSTOMERS.clear()
        for flow, count in flows.items():
            metrics.CUSTOMERS.labels(flow).set(count)
        metrics.ADVISOR_LOAD.clear()
        metrics.ADVISOR_CAPACITY.clear()
        for advisor in team:
            if advisor.active:
                metrics.ADVISOR_LOAD.labels(advisor.advisor_id, advisor.region).set(advisor.load)
                metrics.ADVISOR_CAPACITY.labels(advisor.advisor_id, advisor.region).set(advisor.capacity)
        metrics.WAITLIST.set(waiting)
        metrics.OVERRIDES.set(active)

    return refresh
