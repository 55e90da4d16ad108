"""The notification log: each record written once, published as a tierflow.notification.v1 message, counted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tierflow_common.db.outbox import OutboxTransaction, OutgoingMessage
from tierflow_common.events import NotificationRecorded, Topics, encode_event
from tierflow_common.events.outputs import ConsentEvidence, NotificationRecordedPayload
from tierflow_common.events.topics import NOTIFICATION
from tierflow_notification.adapters import records as record_store
from tierflow_notification.domain.records import NotificationRecord
from tierflow_notification.metrics import NOTIFICATIONS

SOURCE = "tierflow-notification"


def record_message(record: NotificationRecord, now: datetime, topics: Topics) -> OutgoingMessage:
    """The tierflow.notification.v1 message of a record (and count it in the metrics)."""
    step = record.step
    NOTIFICATIONS.labels(step.flow.value, record.channel.value, record.status.value, record.reason).inc()
    event = NotificationRecorded(
        event_id=record.notification_id,
        occurred_at=now,
        source=SOURCE,
        customer_id=step.customer_id,
        payload=NotificationRecordedPayload(
            notification_id=record.notification_id,
            decision_id=step.decision_id,
            flow=step.flow,
            channel=record.channel,
            message_class=step.message_class,
            template=step.template,
            status=record.status,
            reason=record.reason,
            recorded_at=now,
            step=step.name,
            due_at=record.due_at,
            consent=ConsentEvidence.model_validate(record.evidence) if record.evidence else None,
        ),
    )
    return OutgoingMessage(topic=topics.name(NOTIFICATION), key=step.customer_id.encode(), value=encode_event(event))


async def log_records(
    tx: OutboxTransaction, records: Sequence[NotificationRecord], now: datetime, topics: Topics
) -> None:
    """Write records to the notification log and stage a message for each one not logged before."""
    inserted = await record_store.insert_records(tx.connection, records, now=now)
    for record in records:
        if record.notification_id in inserted:
            tx.add(record_message(record, now, topics))
