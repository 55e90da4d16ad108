"""Reading and writing the notification service's tables inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, NotificationStatus, Priority
from tierflow_notification.adapters.tables import (
    advisor_tasks,
    contacts,
    customer_decisions,
    delivery_failures,
    notifications,
    steps,
)
from tierflow_notification.domain.governance import Contact
from tierflow_notification.domain.outreach import Decision, PlannedStep

ACTIVE = ("pending", "sending")


@dataclass(frozen=True, slots=True)
class StoredStep:
    step_id: UUID
    customer_id: str
    decision_id: UUID
    flow: Flow
    name: str
    template: str
    channels: tuple[NotificationChannel, ...]
    message_class: MessageClass
    stop_when_active: bool
    advisor_id: str | None
    priority: Priority
    task_due_days: float
    planned_at: datetime
    first_due_at: datetime
    due_at: datetime
    status: str
    attempts: int
    channel: NotificationChannel | None


@dataclass(frozen=True, slots=True)
class Record:
    """One row of the notification log (and one tierflow.notification.v1 message)."""

    notification_id: UUID
    step: StoredStep
    channel: NotificationChannel
    status: NotificationStatus
    reason: str
    due_at: datetime | None = None
    evidence: dict[str, Any] | None = None


def _step(row: Any) -> StoredStep:
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
        status=row.status,
        attempts=row.attempts,
        channel=NotificationChannel(row.channel) if row.channel else None,
    )


# --- decisions -------------------------------------------------------------------------------


async def last_versions_for_update(conn: AsyncConnection, *, customer_ids: Iterable[str]) -> dict[str, int]:
    """Lock and read the newest decision version seen per customer."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        select(customer_decisions.c.customer_id, customer_decisions.c.last_decision_version)
        .where(customer_decisions.c.customer_id.in_(ids))
        .order_by(customer_decisions.c.customer_id)
        .with_for_update()
    )
    return {row.customer_id: row.last_decision_version for row in rows}


async def remember_decisions(conn: AsyncConnection, *, current: Sequence[Decision], now: datetime) -> None:
    if not current:
        return
    stmt = insert(customer_decisions)
    stmt = stmt.on_conflict_do_update(
        index_elements=[customer_decisions.c.customer_id],
        set_={
            "last_decision_version": stmt.excluded.last_decision_version,
            "last_decision_id": stmt.excluded.last_decision_id,
            "updated_at": stmt.excluded.updated_at,
        },
        where=customer_decisions.c.last_decision_version < stmt.excluded.last_decision_version,
    )
    await conn.execute(
        stmt,
        [
            {
                "customer_id": d.customer_id,
                "last_decision_version": d.version,
                "last_decision_id": d.decision_id,
                "updated_at": now,
            }
            for d in current
        ],
    )


# --- contacts ---------------------------------------------------------------------------------


async def upsert_contacts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Customer master data; an older customer event never overwrites a newer one."""
    if not rows:
        return
    stmt = insert(contacts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[contacts.c.customer_id],
        set_={
            "consents": stmt.excluded.consents,
            "consents_as_of": stmt.excluded.consents_as_of,
            "timezone": stmt.excluded.timezone,
            "closed": stmt.excluded.closed,
            "updated_at": stmt.excluded.updated_at,
        },
        where=func.coalesce(contacts.c.consents_as_of, stmt.excluded.consents_as_of) <= stmt.excluded.consents_as_of,
    )
    await conn.execute(stmt, list(rows))


async def mark_active(conn: AsyncConnection, *, active_at: dict[str, datetime], now: datetime) -> None:
    """The latest trade or login per customer (a contact row without consents is created if needed)."""
    if not active_at:
        return
    stmt = insert(contacts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[contacts.c.customer_id],
        set_={
            "last_active_at": func.greatest(contacts.c.last_active_at, stmt.excluded.last_active_at),
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await conn.execute(
        stmt,
        [
            {
                "customer_id": cid,
                "consents": {},
                "consents_as_of": None,
                "timezone": "Asia/Shanghai",
                "closed": False,
                "last_active_at": at,
                "updated_at": now,
            }
            for cid, at in sorted(active_at.items())
        ],
    )


async def load_contacts(
    conn: AsyncConnection, customer_ids: Iterable[str], *, lock: bool = False
) -> dict[str, Contact]:
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    query = select(contacts).where(contacts.c.customer_id.in_(ids)).order_by(contacts.c.customer_id)
    rows = await conn.execute(query.with_for_update() if lock else query)
    return {
        row.customer_id: Contact(
            customer_id=row.customer_id,
            consents=dict(row.consents),
            consents_as_of=row.consents_as_of,
            timezone=row.timezone,
            closed=row.closed,
            last_active_at=row.last_active_at,
        )
        for row in rows
        if row.consents_as_of is not None or row.last_active_at is not None
    }


# --- steps ------------------------------------------------------------------------------------


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
                "status": "pending",
                "attempts": 0,
                "channel": None,
                "last_reason": None,
                "updated_at": now,
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
        .where(steps.c.customer_id.in_(ids), steps.c.status.in_(ACTIVE))
        .order_by(steps.c.step_id)
        .with_for_update()
    )
    return [_step(r) for r in rows]


async def due_steps_for_update(conn: AsyncConnection, *, now: datetime, limit: int) -> list[StoredStep]:
    """Due steps no other runner holds, oldest first."""
    rows = await conn.execute(
        select(steps)
        .where(steps.c.status.in_(ACTIVE), steps.c.due_at <= now)
        .order_by(steps.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_step(r) for r in rows]


async def update_steps(conn: AsyncConnection, changes: Sequence[dict[str, Any]]) -> None:
    """Apply per-step changes ({"step_id": ..., column: value, ...}), one executemany per shape."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        shapes.setdefault(tuple(sorted(k for k in change if k != "step_id")), []).append(change)
    for columns, rows in shapes.items():
        statement = (
            update(steps)
            .where(steps.c.step_id == bindparam("b_step_id"))
            .values({column: bindparam(f"b_{column}") for column in columns})
        )
        await conn.execute(statement, [{f"b_{key}": value for key, value in row.items()} for row in rows])


async def marketing_sent(
    conn: AsyncConnection, customer_ids: Iterable[str], *, since: datetime
) -> dict[str, list[datetime]]:
    """When marketing messages were sent to these customers since `since` (the frequency cap's input)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        select(notifications.c.customer_id, notifications.c.recorded_at).where(
            and_(
                notifications.c.customer_id.in_(ids),
                notifications.c.recorded_at > since,
                notifications.c.status == "sent",
                notifications.c.message_class == "marketing",
            )
        )
    )
    sent: dict[str, list[datetime]] = {}
    for row in rows:
        sent.setdefault(row.customer_id, []).append(row.recorded_at)
    return sent


# --- the notification log ---------------------------------------------------------------------


async def insert_records(conn: AsyncConnection, records: Sequence[Record], *, now: datetime) -> set[UUID]:
    """Log records; an id already logged is kept as it is. Returns the ids actually inserted."""
    if not records:
        return set()
    result = await conn.execute(
        insert(notifications)
        .on_conflict_do_nothing(index_elements=[notifications.c.notification_id])
        .returning(notifications.c.notification_id),
        [
            {
                "notification_id": r.notification_id,
                "decision_id": r.step.decision_id,
                "customer_id": r.step.customer_id,
                "flow": r.step.flow.value,
                "channel": r.channel.value,
                "message_class": r.step.message_class.value,
                "template": r.step.template,
                "status": r.status.value,
                "reason": r.reason,
                "recorded_at": now,
                "step_id": r.step.step_id,
                "evidence": r.evidence,
            }
            for r in records
        ],
    )
    return {row[0] for row in result}


async def for_customer(conn: AsyncConnection, *, customer_id: str) -> list[dict[str, object]]:
    """A customer's notification log, oldest first (for support and tests)."""
    rows = await conn.execute(
        select(notifications).where(notifications.c.customer_id == customer_id).order_by(notifications.c.recorded_at)
    )
    return [dict(row._mapping) for row in rows]


async def record_failure(
    conn: AsyncConnection, *, notification_id: UUID, step: StoredStep, channel: str, error: str, now: datetime
) -> None:
    await conn.execute(
        insert(delivery_failures).on_conflict_do_nothing(),
        [
            {
                "notification_id": notification_id,
                "step_id": step.step_id,
                "customer_id": step.customer_id,
                "channel": channel,
                "attempts": step.attempts,
                "error": error[:500],
                "recorded_at": now,
            }
        ],
    )


# --- advisor tasks ----------------------------------------------------------------------------


async def open_task(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Create an advisor task once (its id is the step's notification id)."""
    await conn.execute(insert(advisor_tasks).on_conflict_do_nothing(index_elements=[advisor_tasks.c.task_id]), [values])


async def list_tasks(
    conn: AsyncConnection, *, advisor_id: str | None, status: str, limit: int, after: UUID | None = None
) -> list[dict[str, Any]]:
    query = select(advisor_tasks).where(advisor_tasks.c.status == status)
    query = query.where(
        advisor_tasks.c.advisor_id.is_(None) if advisor_id is None else advisor_tasks.c.advisor_id == advisor_id
    )
    if after is not None:
        query = query.where(advisor_tasks.c.task_id > after)
    rows = await conn.execute(query.order_by(advisor_tasks.c.task_id).limit(limit))
    return [dict(r._mapping) for r in rows]


async def close_task(conn: AsyncConnection, *, task_id: UUID, by: str, now: datetime) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            update(advisor_tasks)
            .where(advisor_tasks.c.task_id == task_id)
            .values(
                status="done",
                closed_at=func.coalesce(advisor_tasks.c.closed_at, now),
                closed_by=func.coalesce(advisor_tasks.c.closed_by, by),
            )
            .returning(advisor_tasks)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def cancel_open_tasks(conn: AsyncConnection, *, customer_ids: Iterable[str], now: datetime) -> None:
    """A route change closes the customer's open tasks from the earlier decision."""
    ids = sorted(set(customer_ids))
    if ids:
        await conn.execute(
            update(advisor_tasks)
            .where(advisor_tasks.c.customer_id.in_(ids), advisor_tasks.c.status == "open")
            .values(status="cancelled", closed_at=now, closed_by="route_changed")
        )
