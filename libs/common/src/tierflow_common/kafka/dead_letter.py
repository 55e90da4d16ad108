"""The dead-letter topic: the original bytes, plus the error and the origin in headers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tierflow_common.kafka.delivery import Delivery
from tierflow_common.kafka.producer import EventProducer

MAX_HEADER_CHARS = 900

# Header names, documented in docs/events.md; integrators read them to fix their producers.
H_ERROR = "tierflow.error"
H_KIND = "tierflow.error.kind"
H_ATTEMPTS = "tierflow.error.attempts"
H_TOPIC = "tierflow.origin.topic"
H_PARTITION = "tierflow.origin.partition"
H_OFFSET = "tierflow.origin.offset"
H_TIMESTAMP = "tierflow.origin.timestamp"
H_SERVICE = "tierflow.service"
H_GROUP = "tierflow.consumer.group"
H_FAILED_AT = "tierflow.failed.at"


class DeadLetterer:
    """Publishes rejected messages to the dead-letter topic and waits for the ack."""

    def __init__(self, *, producer: EventProducer, topic: str, service: str, group_id: str) -> None:
        self._producer = producer
        self._topic = topic
        self._service = service
        self._group_id = group_id

    async def send(self, message: Any, *, reason: str, kind: str, attempts: int) -> None:
        """Dead-letter a raw Kafka record (one that could not even be decoded)."""
        await self._send(
            key=message.key,
            value=message.value,
            original_headers=tuple(message.headers or ()),
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            timestamp_ms=message.timestamp,
            reason=reason,
            kind=kind,
            attempts=attempts,
        )

    async def send_delivery(self, delivery: Delivery, *, reason: str, kind: str, attempts: int) -> None:
        """Dead-letter a decoded event whose processing kept failing."""
        await self._send(
            key=delivery.key,
            value=delivery.value,
            original_headers=delivery.headers,
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            timestamp_ms=delivery.timestamp_ms,
            reason=reason,
            kind=kind,
            attempts=attempts,
        )

    async def _send(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        original_headers: tuple[tuple[str, bytes], ...],
        topic: str,
        partition: int,
        offset: int,
        timestamp_ms: int,
        reason: str,
        kind: str,
        attempts: int,
    ) -> None:
        headers = [h for h in original_headers if not h[0].startswith("tierflow.")]
        headers += [
            (H_ERROR, reason[:MAX_HEADER_CHARS].encode()),
            (H_KIND, kind.encode()),
            (H_ATTEMPTS, str(attempts).encode()),
            (H_TOPIC, topic.encode()),
            (H_PARTITION, str(partition).encode()),
            (H_OFFSET, str(offset).encode()),
            (H_TIMESTAMP, str(timestamp_ms).encode()),
            (H_SERVICE, self._service.encode()),
            (H_GROUP, self._group_id.encode()),
            (H_FAILED_AT, datetime.now(UTC).isoformat().encode()),
        ]
        await self._producer.send(self._topic, key, value, headers)
