"""Scoring's business metrics (the pipeline metrics come from the consumer loop)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.gauges import Refresh, review_backlog_refresher
from tierflow_scoring.adapters.scores import customers_by_tier_and_band

TIER_TRANSITIONS = Counter(
    "tierflow_scoring_tier_transitions_total", "Published tier changes.", ["from_tier", "to_tier"]
)
BAND_TRANSITIONS = Counter(
    "tierflow_scoring_churn_band_transitions_total", "Published churn band changes.", ["from_band", "to_band"]
)
CUSTOMERS = Gauge("tierflow_scoring_customers", "Scored customers by tier and churn band.", ["tier", "churn_band"])


def count_change(previous_tier: str | None, tier: str, previous_band: str | None, band: str) -> None:
    """Count one published change."""
    if previous_tier != tier:
        TIER_TRANSITIONS.labels(previous_tier or "none", tier).inc()
    if previous_band != band:
        BAND_TRANSITIONS.labels(previous_band or "none", band).inc()


def gauge_refresher(engine: AsyncEngine) -> Refresh:
    """A refresh function for the customers-by-tier-and-band and backlog gauges."""
    backlog = review_backlog_refresher("scoring", engine, "scores")

    async def refresh() -> None:
        async with engine.connect() as conn:
            rows = await customers_by_tier_and_band(conn)
        CUSTOMERS.clear()
        for tier, band, count in rows:
            CUSTOMERS.labels(tier, band).set(count)
        await backlog()

    return refresh
