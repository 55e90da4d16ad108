"""Coverage: promised tasks in the window, on time, overdue, and the ratio per advisor and tier. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tierflow_common.events.outputs import Tier
from tierflow_notification.domain.coverage import (
    UNKNOWN_TIER,
    Coverage,
    TaskTiming,
    coverage,
    total,
    window_until,
)
from tierflow_notification.domain.tasks import TaskStatus

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WINDOW = window_until(NOW)


def task(
    due_days_ago: float,
    status: TaskStatus,
    *,
    closed_days_ago: float | None = None,
    advisor: str | None = "ADV1",
    tier: Tier | None = Tier.A,
) -> TaskTiming:
    closed = None if closed_days_ago is None else NOW - closed_days_ago * DAY
    return TaskTiming(advisor, tier, NOW - due_days_ago * DAY, status, closed)


def test_done_by_the_due_time_is_on_time_late_is_promised_only_and_open_past_due_is_overdue() -> None:
    tasks = [
        task(10, TaskStatus.DONE, closed_days_ago=12),  # early
        task(10, TaskStatus.DONE, closed_days_ago=10),  # exactly at the due time
        task(10, TaskStatus.DONE, closed_days_ago=5),  # late
        task(3, TaskStatus.OPEN),  # overdue
    ]
    [entry] = coverage(tasks, WINDOW)
    assert entry == Coverage("ADV1", "A", promised=4, on_time=2, overdue=1)
    assert entry.ratio == 0.5


def test_cancelled_queue_tasks_and_tasks_outside_the_window_are_not_promised() -> None:
    tasks = [
        task(5, TaskStatus.CANCELLED, closed_days_ago=6),  # a route change withdrew it
        task(5, TaskStatus.OPEN, advisor=None),  # the outreach queue: nobody's promise
        task(31, TaskStatus.OPEN),  # due before the window
        task(30, TaskStatus.DONE, closed_days_ago=31),  # on the window's start: outside
        task(-2, TaskStatus.OPEN),  # due in two days: not promised yet
        task(0, TaskStatus.OPEN),  # due right now: promised, not overdue yet
    ]
    assert coverage(tasks, WINDOW) == [Coverage("ADV1", "A", promised=1, on_time=0, overdue=0)]


def test_figures_are_per_advisor_and_tier_and_a_task_without_a_tier_counts_as_unknown() -> None:
    tasks = [
        task(1, TaskStatus.DONE, closed_days_ago=2, tier=Tier.B),
        task(1, TaskStatus.OPEN, tier=None),
        task(1, TaskStatus.DONE, closed_days_ago=2, advisor="ADV2"),
        task(2, TaskStatus.DONE, closed_days_ago=3),
    ]
    entries = coverage(tasks, WINDOW)
    assert [(e.advisor_id, e.tier, e.promised, e.on_time, e.overdue) for e in entries] == [
        ("ADV1", "A", 1, 1, 0),
        ("ADV1", "B", 1, 1, 0),
        ("ADV1", UNKNOWN_TIER, 1, 0, 1),
        ("ADV2", "A", 1, 1, 0),
    ]
    overall = total(entries, "ADV1")
    assert (overall.tier, overall.promised, overall.on_time, overall.overdue) == ("all", 3, 2, 1)
    assert overall.ratio == 2 / 3


def test_nothing_promised_has_no_ratio_and_an_advisor_without_tasks_totals_zero() -> None:
    assert coverage([], WINDOW) == []
    nobody = total([], "ADV9")
    assert (nobody.promised, nobody.on_time, nobody.overdue, nobody.ratio) == (0, 0, 0, None)


def test_a_done_task_without_a_closing_time_is_not_counted_on_time() -> None:
    assert coverage([task(1, TaskStatus.DONE)], WINDOW) == [Coverage("ADV1", "A", 1, 0, 0)]
