"""Notification's business gauges, refreshed from its own tables: service coverage per advisor and tier."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_notification import metrics
from tierflow_notification.adapters import coverage as store
from tierflow_notification.domain.coverage import coverage, window_until


def coverage_gauges(engine: AsyncEngine, clock: Clock) -> Callable[[], Awaitable[None]]:
    """Promised, on-time and overdue tasks and the coverage ratio per advisor and tier, over the last 30 days.

    Series of an advisor or tier with nothing promised any more are dropped (cleared and set again), so
    the ratio is never a stale value nor a 0 that would read as "promised and missed"."""

    async def refresh() -> None:
        window = window_until(clock.now())
        async with engine.connect() as conn:
            timings = await store.task_timings(conn, window=window)
        entries = coverage(timings, window)
        gauges = (metrics.COVERAGE_RATIO, metrics.PROMISED_TASKS, metrics.ONTIME_TASKS, metrics.OVERDUE_TASKS)
        for gauge in gauges:
            gauge.clear()
        for entry in entries:
            labels = (entry.advisor_id, entry.tier)
            metrics.PROMISED_TASKS.labels(*labels).set(entry.promised)
            metrics.ONTIME_TASKS.labels(*labels).set(entry.on_time)
            metrics.OVERDUE_TASKS.labels(*labels).set(entry.overdue)
            if entry.ratio is not None:
                metrics.COVERAGE_RATIO.labels(*labels).set(entry.ratio)

    return refresh
