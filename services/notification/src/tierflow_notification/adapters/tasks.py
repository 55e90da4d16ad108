"""The advisor workbench's tasks (`advisor_tasks`), read and written inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import Priority, Tier
from tierflow_notification.adapters.tables import advisor_tasks
from tierflow_notification.domain.reasons import ReasonCode, TaskOutcome, TaskReport
from tierflow_notification.domain.tasks import CLOSED_BY_ROUTE_CHANGE, AdvisorTask, TaskStatus


def _task(row: Row[Any]) -> AdvisorTask:
    return AdvisorTask(
        task_id=row.task_id,
        advisor_id=row.advisor_id,
        customer_id=row.customer_id,
        decision_id=row.decision_id,
        template=row.template,
        priority=Priority(row.priority),
        due_at=row.due_at,
        status=TaskStatus(row.status),
        created_at=row.created_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        evidence_event_id=row.evidence_event_id,
        outcome=None if row.outcome is None else TaskOutcome(row.outcome),
        reason=None if row.reason is None else ReasonCode(row.reason),
        tier=None if row.tier is None else Tier(row.tier),
    )


async def open_task(conn: AsyncConnection, task: AdvisorTask) -> None:
    """Create an advisor task once (its id is the step's notification id)."""
    await conn.execute(
        insert(advisor_tasks).on_conflict_do_nothing(index_elements=[advisor_tasks.c.task_id]),
        [
            {
                "task_id": task.task_id,
                "advisor_id": task.advisor_id,
                "customer_id": task.customer_id,
                "decision_id": task.decision_id,
                "template": task.template,
                "priority": task.priority.value,
                "due_at": task.due_at,
                "status": task.status.value,
                "created_at": task.created_at,
                "closed_at": task.closed_at,
                "closed_by": task.closed_by,
                "evidence_event_id": task.evidence_event_id,
                "tier": None if task.tier is None else task.tier.value,
            }
        ],
    )


async def open_task_ids(conn: AsyncConnection, *, task_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these tasks are open, locked until the transaction ends (an advisor closing one waits)."""
    ids = sorted(set(task_ids))
    if not ids:
        return set()
    rows = await conn.execute(
        select(advisor_tasks.c.task_id)
        .where(advisor_tasks.c.task_id.in_(ids), advisor_tasks.c.status == TaskStatus.OPEN.value)
        .with_for_update()
    )
    return set(rows.scalars())


async def close_with_evidence(
    conn: AsyncConnection, *, task_id: UUID, by: str, closed_at: datetime, evidence_event_id: UUID
) -> None:
    """Close an open task as satisfied by a logged contact (kept as its evidence)."""
    await conn.execute(
        update(advisor_tasks)
        .where(advisor_tasks.c.task_id == task_id, advisor_tasks.c.status == TaskStatus.OPEN.value)
        .values(status=TaskStatus.DONE.value, closed_at=closed_at, closed_by=by, evidence_event_id=evidence_event_id)
    )


async def list_tasks(
    conn: AsyncConnection, *, advisor_id: str | None, status: TaskStatus, limit: int, after: UUID | None = None
) -> list[AdvisorTask]:
    """An advisor's tasks (the outreach queue's for advisor_id None) with a status, by task id after `after`."""
    query = select(advisor_tasks).where(advisor_tasks.c.status == status.value)
    query = query.where(
        advisor_tasks.c.advisor_id.is_(None) if advisor_id is None else advisor_tasks.c.advisor_id == advisor_id
    )
    if after is not None:
        query = query.where(advisor_tasks.c.task_id > after)
    rows = await conn.execute(query.order_by(advisor_tasks.c.task_id).limit(limit))
    return [_task(r) for r in rows]


async def get_task(conn: AsyncConnection, *, task_id: UUID, for_update: bool = False) -> AdvisorTask | None:
    """One task, or None; `for_update` locks its row until the transaction ends."""
    query = select(advisor_tasks).where(advisor_tasks.c.task_id == task_id)
    row = (await conn.execute(query.with_for_update() if for_update else query)).first()
    return None if row is None else _task(row)


async def close_task(
    conn: AsyncConnection, *, task_id: UUID, by: str, now: datetime, report: TaskReport = TaskReport()
) -> AdvisorTask | None:
    """Mark a task done (who, when and the report are kept from the first close); None when there is no such task."""
    row = (
        await conn.execute(
            update(advisor_tasks)
            .where(advisor_tasks.c.task_id == task_id)
            .values(
                status=TaskStatus.DONE.value,
                closed_at=func.coalesce(advisor_tasks.c.closed_at, now),
                closed_by=func.coalesce(advisor_tasks.c.closed_by, by),
                outcome=func.coalesce(advisor_tasks.c.outcome, report.outcome.value),
                reason=func.coalesce(advisor_tasks.c.reason, None if report.reason is None else report.reason.value),
            )
            .returning(advisor_tasks)
        )
    ).first()
    return None if row is None else _task(row)


async def cancel_open_tasks(conn: AsyncConnection, *, customer_ids: Iterable[str], now: datetime) -> None:
    """A route change closes the customer's open tasks from the earlier decision."""
    ids = sorted(set(customer_ids))
    if ids:
        await conn.execute(
            update(advisor_tasks)
            .where(advisor_tasks.c.customer_id.in_(ids), advisor_tasks.c.status == TaskStatus.OPEN.value)
            .values(status=TaskStatus.CANCELLED.value, closed_at=now, closed_by=CLOSED_BY_ROUTE_CHANGE)
        )
