"""What an advisor's scorecard reads: the book (routes and customer states) and the matured 90-day windows."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.adapters.customers import CODEC
from tierflow_routing.adapters.outcomes import MATURED
from tierflow_routing.adapters.tables import customers, decisions, routes
from tierflow_routing.adapters.tables import decision_outcomes as outcomes
from tierflow_routing.domain.scorecard import RETENTION_WINDOW_DAYS, BookCustomer, MaturedWindow

_BOOK = (
    select(routes.c.advisor_id, routes.c.customer_id, routes.c.tier, customers.c.state)
    .join(customers, customers.c.customer_id == routes.c.customer_id)
    .where(routes.c.active, routes.c.advisor_id.isnot(None))
)


def _customer(customer_id: str, tier: str, raw: bytes) -> BookCustomer:
    profile = CODEC.decode(raw).profile
    return BookCustomer(
        customer_id=customer_id,
        tier=tier,
        total_assets=profile.total_assets,
        total_assets_90d_ago=profile.total_assets_90d_ago,
        net_inflow_90d=profile.net_inflow_90d,
        last_nps=profile.last_nps,
    )


async def book(conn: AsyncConnection, *, advisor_id: str) -> list[BookCustomer]:
    """The customers whose active route names the advisor now, with their profile figures."""
    query = _BOOK.where(routes.c.advisor_id == advisor_id).order_by(routes.c.customer_id)
    return [_customer(row.customer_id, row.tier, row.state) for row in await conn.execute(query)]


async def stream_books(conn: AsyncConnection) -> AsyncIterator[tuple[str, BookCustomer]]:
    """Every advisor's book customers as (advisor_id, customer), streamed (for the gauges)."""
    result = await conn.stream(_BOOK.order_by(routes.c.advisor_id))
    async for row in result:
        yield row.advisor_id, _customer(row.customer_id, row.tier, row.state)


async def book_counts(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    """Active routes per (advisor_id, tier), without reading the states."""
    query = (
        select(routes.c.advisor_id, routes.c.tier, func.count())
        .where(routes.c.active, routes.c.advisor_id.isnot(None))
        .group_by(routes.c.advisor_id, routes.c.tier)
    )
    return {(advisor_id, tier): int(n) for advisor_id, tier, n in await conn.execute(query)}


async def matured_windows(conn: AsyncConnection, *, advisor_id: str) -> list[MaturedWindow]:
    """Per customer, the latest matured, not superseded 90-day window of a decision that named the advisor."""
    query = (
        select(
            outcomes.c.customer_id,
            outcomes.c.outcome["became_dormant"].as_boolean().label("became_dormant"),
            outcomes.c.outcome["closed"].as_boolean().label("closed"),
        )
        .join(decisions, decisions.c.decision_id == outcomes.c.decision_id)
        .where(
            and_(
                decisions.c.advisor_id == advisor_id,
                outcomes.c.window_days == RETENTION_WINDOW_DAYS,
                outcomes.c.status == MATURED,
                outcomes.c.superseded_at.is_(None),
            )
        )
        .ext(distinct_on(outcomes.c.customer_id))
        .order_by(outcomes.c.customer_id, outcomes.c.decided_at.desc(), outcomes.c.decision_id)
    )
    return [
        MaturedWindow(customer_id=row.customer_id, became_dormant=bool(row.became_dormant), closed=bool(row.closed))
        for row in await conn.execute(query)
    ]
