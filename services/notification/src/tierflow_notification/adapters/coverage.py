"""What coverage reads of `advisor_tasks`: the timing of the advisors' tasks due in a window."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import Tier
from tierflow_notification.adapters.tables import advisor_tasks
from tierflow_notification.domain.coverage import CoverageWindow, TaskTiming
from tierflow_notification.domain.tasks import TaskStatus


async def task_timings(
    conn: AsyncConnection, *, window: CoverageWindow, advisor_id: str | None = None
) -> list[TaskTiming]:
    """The advisors' tasks due in the window, not cancelled (one advisor's when `advisor_id` is given)."""
    t = advisor_tasks.c
    query = select(t.advisor_id, t.tier, t.due_at, t.status, t.closed_at).where(
        t.advisor_id.is_not(None) if advisor_id is None else t.advisor_id == advisor_id,
        t.due_at > window.start,
        t.due_at <= window.end,
        t.status != TaskStatus.CANCELLED.value,
    )
    rows = await conn.execute(query)
    return [
        TaskTiming(
            advisor_id=row.advisor_id,
            tier=None if row.tier is None else Tier(row.tier),
            due_at=row.due_at,
            status=TaskStatus(row.status),
            closed_at=row.closed_at,
        )
        for row in rows
    ]
