"""The notification log (`notifications`) and its dead letters (`delivery_failures`), inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import MessageClass, NotificationChannel, NotificationStatus
from tierflow_notification.adapters.tables import delivery_failures, notifications
from tierflow_notification.domain.offers import OfferLog
from tierflow_notification.domain.records import NotificationRecord
from tierflow_notification.domain.steps import StoredStep

FAILURE_TEXT_MAX = 500  # characters of a provider's error kept in delivery_failures


async def insert_records(conn: AsyncConnection, records: Sequence[NotificationRecord], *, now: datetime) -> set[UUID]:
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
    return set(result.scalars())


async def records_for_customer(conn: AsyncConnection, *, customer_id: str) -> list[dict[str, object]]:
    """A customer's notification log, oldest first (for support and tests)."""
    rows = await conn.execute(
        select(notifications).where(notifications.c.customer_id == customer_id).order_by(notifications.c.recorded_at)
    )
    return [dict(row._mapping) for row in rows]


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
                notifications.c.status == NotificationStatus.SENT.value,
                notifications.c.message_class == MessageClass.MARKETING.value,
            )
        )
    )
    sent: dict[str, list[datetime]] = {}
    for row in rows:
        sent.setdefault(row.customer_id, []).append(row.recorded_at)
    return sent


async def record_failure(
    conn: AsyncConnection,
    *,
    notification_id: UUID,
    step: StoredStep,
    channel: NotificationChannel,
    attempts: int,
    error: str,
    now: datetime,
) -> None:
    """Dead-letter a message not delivered after every attempt (kept once per notification id)."""
    await conn.execute(
        insert(delivery_failures).on_conflict_do_nothing(),
        [
            {
                "notification_id": notification_id,
                "step_id": step.step_id,
                "customer_id": step.customer_id,
                "channel": channel.value,
                "attempts": attempts,
                "error": error[:FAILURE_TEXT_MAX],
                "recorded_at": now,
            }
        ],
    )


async def catalogue_sent(conn: AsyncConnection, customer_ids: Iterable[str], *, templates: Iterable[str]) -> OfferLog:
    """When each of these templates was last sent to these customers: what the catalogue offered them."""
    ids, names = sorted(set(customer_ids)), sorted(set(templates))
    log = OfferLog()
    if not ids or not names:
        return log
    n = notifications.c
    rows = await conn.execute(
        select(n.customer_id, n.template, func.max(n.recorded_at).label("at"))
        .where(n.customer_id.in_(ids), n.template.in_(names), n.status == NotificationStatus.SENT.value)
        .group_by(n.customer_id, n.template)
    )
    for row in rows:
        log.sent.setdefault(row.customer_id, {})[row.template] = row.at
    return log
