"""Service coverage: the share of the contacts promised to customers that their advisor did on time. Pure.

Over a window of due dates (the last 30 days up to now), per advisor and tier:
- promised: the advisor's tasks due in the window, not cancelled (a route change withdrew a cancelled one);
- on time: the promised tasks done with `closed_at <= due_at` (a logged contact that satisfied a task closes
  it at the contact's time, so it counts);
- overdue: the promised tasks still open whose due time has passed;
- ratio: on time / promised, None when nothing was promised (no promise, no coverage to speak of).

A task due later than now is not promised yet; a task closed late is promised but neither on time nor
overdue. Tasks of the outreach queue (no advisor) are nobody's promise and are left out. A task created
before migration 0008 has no tier: it counts under tier "unknown".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from tierflow_common.events.outputs import Tier
from tierflow_notification.domain.tasks import TaskStatus

UNKNOWN_TIER: Final = "unknown"
WINDOW: Final = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TaskTiming:
    """What coverage reads of an advisor task (a row of `advisor_tasks`)."""

    advisor_id: str | None
    tier: Tier | None
    due_at: datetime
    status: TaskStatus
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CoverageWindow:
    """The due dates coverage looks at: `start` < due_at <= `end` (now)."""

    start: datetime
    end: datetime

    def holds(self, due_at: datetime) -> bool:
        """Whether a task due then falls in the window."""
        return self.start < due_at <= self.end


def window_until(now: datetime, length: timedelta = WINDOW) -> CoverageWindow:
    """The window of the last `length` (30 days) up to now."""
    return CoverageWindow(start=now - length, end=now)


@dataclass(frozen=True, slots=True)
class Coverage:
    """One advisor's figures for one tier over a window."""

    advisor_id: str
    tier: str
    promised: int = 0
    on_time: int = 0
    overdue: int = 0

    @property
    def ratio(self) -> float | None:
        """On time over promised; None when nothing was promised."""
        return None if self.promised == 0 else self.on_time / self.promised


def _counts(task: TaskTiming, now: datetime) -> tuple[int, int]:
    """(on time, overdue) of one promised task."""
    if task.status is TaskStatus.DONE:
        return int(task.closed_at is not None and task.closed_at <= task.due_at), 0
    return 0, int(task.status is TaskStatus.OPEN and task.due_at < now)


def coverage(tasks: Iterable[TaskTiming], window: CoverageWindow) -> list[Coverage]:
    """Coverage per advisor and tier of the tasks due in the window, ordered by advisor and tier; an advisor or
    tier without a promised task in the window has no entry."""
    figures: dict[tuple[str, str], tuple[int, int, int]] = {}
    for task in tasks:
        if task.advisor_id is None or task.status is TaskStatus.CANCELLED or not window.holds(task.due_at):
            continue
        key = (task.advisor_id, UNKNOWN_TIER if task.tier is None else task.tier.value)
        promised, on_time, overdue = figures.get(key, (0, 0, 0))
        task_on_time, task_overdue = _counts(task, window.end)
        figures[key] = (promised + 1, on_time + task_on_time, overdue + task_overdue)
    return [
        Coverage(advisor_id=advisor, tier=tier, promised=p, on_time=o, overdue=d)
        for (advisor, tier), (p, o, d) in sorted(figures.items())
    ]


def total(entries: Iterable[Coverage], advisor_id: str) -> Coverage:
    """An advisor's figures over all tiers (tier "all"): the promised-weighted coverage the alert watches."""
    entries = [e for e in entries if e.advisor_id == advisor_id]
    return Coverage(
        advisor_id=advisor_id,
        tier="all",
        promised=sum(e.promised for e in entries),
        on_time=sum(e.on_time for e in entries),
        overdue=sum(e.overdue for e in entries),
    )
