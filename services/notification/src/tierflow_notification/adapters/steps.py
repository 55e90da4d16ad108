"""The `steps` table: durable outreach timers, read and written inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, Priority, Tier
from tierflow_notification.adapters.tables import steps
from tierflow_notification.domain.outreach import PlannedStep
from tierflow_notification.domain.steps import ACTIVE_STATUSES, StepChange, StepStatus, StoredStep

# The columns a StepChange may set besides updated_at (its fields, named as the columns are).
_CHANGEABLE = tuple(f.name for f in fields(StepChange) if f.name not in ("step_id", "updated_at"))
_ACTIVE = [status.value for status in ACTIVE_STATUSES]


def _stored_step(row: Row[Any]) -> StoredStep:
    return StoredStep(
        step_id=row.step_id,
        customer_id=row.customer_id,
        decision_id=row.decision_id,
        flow=Flow(row.flow),
        name=row.name,
        template=row.template,
        channels=tuple(NotificationChannel(c) for c in row.channels),
        message_class=MessageClass(row.message_class),
        stop_when_active=row.stop_when_active,
        advisor_id=row.advisor_id,
        priority=Priority(row.priority),
        task_due_days=row.task_due_days,
        planned_at=row.planned_at,
        first_due_at=row.first_due_at,
        due_at=row.due_at,
        status=StepStatus(row.status),
        attempts=row.attempts,
        channel=NotificationChannel(row.channel) if row.channel else None,
        every=row.every,
        series_start=row.series_start,
        occurrence=row.occurrence,
        satisfied_by_contact=row.satisfied_by_contact,
        window=row.step_window,
        tier=None if row.tier is None else Tier(row.tier),
        outbound_call=row.outbound_call,
    )


async def insert_steps(conn: AsyncConnection, planned: Sequence[PlannedStep], *, now: datetime) -> int:
    """Store planned steps; a step id already stored (a redelivered decision) is kept as it is."""
    if not planned:
        return 0
    result = await conn.execute(
        insert(steps).on_conflict_do_nothing(index_elements=[steps.c.step_id]).returning(steps.c.step_id),
        [
            {
                "step_id": p.step_id,
                "customer_id": p.customer_id,
                "decision_id": p.decision_id,
                "flow": p.flow.value,
                "name": p.name,
                "template": p.template,
                "channels": [c.value for c in p.channels],
                "message_class": p.message_class.value,
                "stop_when_active": p.stop_when_active,
                "advisor_id": p.advisor_id,
                "priority": p.priority.value,
                "task_due_days": p.task_due_days,
                "planned_at": p.planned_at,
                "first_due_at": p.due_at,
                "due_at": p.due_at,
                "status": StepStatus.PENDING.value,
                "attempts": 0,
                "channel": None,
                "last_reason": None,
                "updated_at": now,
                "every": p.every,
                "series_start": p.series_start,
                "occurrence": p.occurrence,
                "satisfied_by_contact": p.satisfied_by_contact,
                "step_window": p.window,
                "tier": None if p.tier is None else p.tier.value,
                "outbound_call": p.outbound_call,
            }
            for p in planned
        ],
    )
    return len(result.all())


async def active_steps_for_update(conn: AsyncConnection, customer_ids: Iterable[str]) -> list[StoredStep]:
    """Pending or in-flight steps of these customers, locked (waits for a runner holding one)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    rows = await conn.execute(
        select(steps)
        .where(steps.c.customer_id.in_(ids), steps.c.status.in_(_ACTIVE))
        .order_by(steps.c.step_id)
        .with_for_update()
    )
    return [_stored_step(r) for r in rows]


async def satisfiable_steps_for_update(
    conn: AsyncConnection, *, customer_ids: Iterable[str], since: datetime, until: datetime
) -> list[StoredStep]:
    """Occurrences a logged contact may satisfy (pending or done, opened in [since, until]) of these customers,
    locked (waits for a runner holding one: it is then `sending`, and left alone)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    rows = await conn.execute(
        select(steps)
        .where(
            steps.c.customer_id.in_(ids),
            steps.c.satisfied_by_contact,
            steps.c.status.in_([StepStatus.PENDING.value, StepStatus.DONE.value]),
            steps.c.first_due_at.between(since, until),
        )
        .order_by(steps.c.step_id)
        .with_for_update()
    )
    return [_stored_step(r) for r in rows]


async def due_steps_for_update(conn: AsyncConnection, *, now: datetime, limit: int) -> list[StoredStep]:
    """Due steps no other runner holds, oldest first."""
    rows = await conn.execute(
        select(steps)
        .where(steps.c.status.in_(_ACTIVE), steps.c.due_at <= now)
        .order_by(steps.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_stored_step(r) for r in rows]


def _column_values(change: StepChange) -> dict[str, object]:
    """The columns a change sets, as the table stores them (enums by value)."""
    values: dict[str, object] = {"updated_at": change.updated_at}
    for name in _CHANGEABLE:
        value = getattr(change, name)
        if value is not None:
            values[name] = value.value if isinstance(value, Enum) else value
    return values


async def update_steps(conn: AsyncConnection, changes: Sequence[StepChange]) -> None:
    """Apply per-step changes, one executemany per set of changed columns."""
    shapes: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for change in changes:
        values = _column_values(change)
        shapes.setdefault(tuple(sorted(values)), []).append(
            {"b_step_id": change.step_id, **{f"b_{column}": value for column, value in values.items()}}
        )
    for columns, rows in shapes.items():
        statement = (
            update(steps)
            .where(steps.c.step_id == bindparam("b_step_id"))
            .values({column: bindparam(f"b_{column}") for column in columns})
        )
        await conn.execute(statement, rows)


async def steps_of_decision(conn: AsyncConnection, *, customer_id: str, decision_id: UUID) -> list[StoredStep]:
    """Every step a decision planned for a customer, locked (an asking task's step and the ones it replaces)."""
    rows = await conn.execute(
        select(steps)
        .where(steps.c.customer_id == customer_id, steps.c.decision_id == decision_id)
        .order_by(steps.c.step_id)
        .with_for_update()
    )
    return [_stored_step(r) for r in rows]
