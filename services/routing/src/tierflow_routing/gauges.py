"""Routing's business gauges, refreshed from its own tables."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tierflow_common.clock import Clock
from tierflow_routing import metrics
from tierflow_routing.adapters import advisors, overrides, routes, scorecards
from tierflow_routing.adapters.advisors import AdvisorRecord
from tierflow_routing.domain.resources import TIERS

# The book's money gauges decode every book customer's state: refreshed every few minutes, not every 15 s.
BOOK_MONEY_REFRESH_S = 300.0


def routing_gauges(
    engine: AsyncEngine, clock: Clock, *, book_money_every_s: float = BOOK_MONEY_REFRESH_S
) -> Callable[[], Awaitable[None]]:
    """Customers per flow, advisor load and capacity, waitlist, overrides in force, advisors and their books."""
    last_money: float | None = None

    async def refresh() -> None:
        nonlocal last_money
        async with engine.connect() as conn:
            flows = await routes.route_counts(conn)
            team = await advisors.list_advisors(conn)
            waiting = await advisors.waitlist_size(conn)
            active = await overrides.active_count(conn, now=clock.now())
            books = await scorecards.book_counts(conn)
            money_due = last_money is None or time.monotonic() - last_money >= book_money_every_s
            money = await _book_money(conn) if money_due else None
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
        _set_books(team, books)
        if money is not None:
            _set_money(team, money)
            last_money = time.monotonic()

    return refresh


def _set_books(team: list[AdvisorRecord], books: dict[tuple[str, str], int]) -> None:
    """Every registered advisor's info and book by tier (0 for an empty tier, so sums by branch see them)."""
    metrics.ADVISOR_INFO.clear()
    metrics.ADVISOR_BOOK.clear()
    for advisor in team:
        metrics.ADVISOR_INFO.labels(advisor.advisor_id, advisor.branch, advisor.region).set(1)
        for tier in TIERS:
            metrics.ADVISOR_BOOK.labels(advisor.advisor_id, tier).set(books.get((advisor.advisor_id, tier), 0))


async def _book_money(conn: AsyncConnection) -> dict[str, tuple[Decimal, Decimal]]:
    """(AUM, net inflow over 90 days) per advisor with a book; unknown assets count as 0, as on the scorecard."""
    totals: dict[str, tuple[Decimal, Decimal]] = defaultdict(lambda: (Decimal(0), Decimal(0)))
    async for advisor_id, customer in scorecards.stream_books(conn):
        aum, inflow = totals[advisor_id]
        totals[advisor_id] = (aum + (customer.total_assets or Decimal(0)), inflow + customer.net_inflow_90d)
    return totals


def _set_money(team: list[AdvisorRecord], money: dict[str, tuple[Decimal, Decimal]]) -> None:
    metrics.ADVISOR_BOOK_AUM.clear()
    metrics.ADVISOR_BOOK_NET_INFLOW.clear()
    for advisor in team:
        aum, inflow = money.get(advisor.advisor_id, (Decimal(0), Decimal(0)))
        metrics.ADVISOR_BOOK_AUM.labels(advisor.advisor_id).set(float(aum))
        metrics.ADVISOR_BOOK_NET_INFLOW.labels(advisor.advisor_id).set(float(inflow))
