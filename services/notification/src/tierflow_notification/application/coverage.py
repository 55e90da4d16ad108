"""An advisor's service coverage (domain/coverage.py) over the last 30 days, for a caller who may read it.

Who reads whose coverage follows the task API (application/tasks.py): an advisor's token reads its own
advisor's, a `task:read:all` token any advisor's. An advisor without tasks (a new one) has zeros, not 404:
the advisor ids are routing's, and nothing here could tell an unknown advisor from an idle one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_notification.adapters import coverage as store
from tierflow_notification.application.tasks import NotYourTasks, TaskCaller
from tierflow_notification.domain.coverage import Coverage, CoverageWindow, coverage, total, window_until


@dataclass(frozen=True, slots=True)
class AdvisorCoverage:
    """An advisor's coverage per tier (tiers with a promised task only) and over all tiers, in a window."""

    advisor_id: str
    window: CoverageWindow
    tiers: list[Coverage]
    overall: Coverage


async def advisor_coverage(
    engine: AsyncEngine, *, caller: TaskCaller, advisor_id: str, clock: Clock
) -> AdvisorCoverage:
    """The advisor's coverage over the last 30 days up to now; NotYourTasks beyond the caller's reach."""
    if not caller.reaches(advisor_id):
        raise NotYourTasks("this token reaches only the coverage of its own advisor_id")
    window = window_until(clock.now())
    async with engine.connect() as conn:
        timings = await store.task_timings(conn, window=window, advisor_id=advisor_id)
    tiers = coverage(timings, window)
    return AdvisorCoverage(advisor_id=advisor_id, window=window, tiers=tiers, overall=total(tiers, advisor_id))
