"""Business gauges refreshed from a service's own tables on an interval (a background task)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Refresh = Callable[[], Awaitable[None]]


async def refresh_periodically(stop: asyncio.Event, *, refresh: Refresh, interval_s: float = 15.0) -> None:
    """Run `refresh` now and then every `interval_s` until stopped; failures are logged, never fatal."""
    while not stop.is_set():
        try:
            await refresh()
        except Exception as exc:
            log.warning("gauge refresh failed", extra={"error": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)


def review_backlog_refresher(service: str, engine: object, table: str) -> Refresh:
    """Refresh `tierflow_reviews_due` and `tierflow_review_lag_seconds` from a table's next_review_at."""
    from sqlalchemy import text

    from tierflow_common.metrics import REVIEW_LAG, REVIEWS_DUE

    query = text(
        f"SELECT count(*), coalesce(extract(epoch from now() - min(next_review_at)), 0) FROM {table}"
        " WHERE next_review_at <= now()"
    )

    async def refresh() -> None:
        async with engine.connect() as conn:  # type: ignore[attr-defined]
            due, lag = (await conn.execute(query)).one()
        REVIEWS_DUE.labels(service).set(due)
        REVIEW_LAG.labels(service).set(max(0.0, float(lag)))

    return refresh
