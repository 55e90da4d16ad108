"""The dead-letter topic: the original bytes, plus the error and the origin in headers.

A dead letter always fits: a message near the broker's size limit plus our headers would be
refused, so the value is cut to fit (`tierflow.truncated`, `tierflow.original.size` say so) and
the whole message stays at its origin (topic, partition, offset) for the origin topic's retention.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError

from tierflow_common import metrics
from tierflow_common.kafka.delivery import Delivery
from tierflow_common.kafka.producer import EventProducer

log = logging.getLogger(__name__)

MAX_HEADER_CHARS = 900
DEFAULT_MAX_BYTES = 1_000_000
"""Below the producer's max_request_size (1 MiB) and Kafka's default max.message.bytes (1 MiB + 12)."""
MIN_MAX_BYTES = 4096
"""The smallest budget tried when the broker keeps refusing a dead letter as too large."""
KEPT_KEY_BYTES = 256
KEPT_HEADER_BYTES = 16 * 1024
RECORD_OVERHEAD = 128
"""Record and batch framing, generously: attributes, varints, the batch header (61 bytes)."""

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
H_TRUNCATED = "tierflow.truncated"
H_ORIGINAL_SIZE = "tierflow.original.size"

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What is sent: key, value and headers, cut to fit a size budget."""

    key: bytes | None
    value: bytes | None
    headers: Headers


def record_size(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """An upper estimate of a record's size on the wire, framing included."""
    header_bytes = sum(len(name.encode()) + len(data) + 8 for name, data in headers)
    return RECORD_OVERHEAD + len(key or b"") + len(value or b"") + header_bytes


def fit(key: bytes | None, value: bytes | None, original: Headers, ours: Headers, *, max_bytes: int) -> DeadLetter:
    """The dead letter within `max_bytes`: large original headers, then a long key, then the value are cut.

    What was cut is named in `tierflow.truncated` (`headers`, `key`, `value`) and the value's original
    size in bytes in `tierflow.original.size`.
    """
    if record_size(key, value, original + ours) <= max_bytes:
        return DeadLetter(key, value, original + ours)
    cut: list[str] = []
    if original and record_size(None, None, original) > KEPT_HEADER_BYTES:
        original = []
        cut.append("headers")
    if key is not None and len(key) > KEPT_KEY_BYTES:
        key = key[:KEPT_KEY_BYTES]
        cut.append("key")
    cut.append("value")
    notes = [(H_TRUNCATED, ",".join(cut).encode()), (H_ORIGINAL_SIZE, str(len(value or b"")).encode())]
    headers = original + ours + notes
    room = max(0, max_bytes - record_size(key, None, headers))
    return DeadLetter(key, (value or b"")[:room], headers)


class DeadLetterer:
    """Publishes rejected messages to the dead-letter topic and waits for the ack.

    A send that fails for any reason other than size raises: the consumer loop waits and tries
    again (an outage is never the message's fault). A dead letter the broker refuses as too large
    is sent again with half the budget, down to `MIN_MAX_BYTES`.
    """

    def __init__(
        self,
        *,
        producer: EventProducer,
        topic: str,
        service: str,
        group_id: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._service = service
        self._group_id = group_id
        self._max_bytes = max_bytes

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
        original = [h for h in original_headers if not h[0].startswith("tierflow.")]
        ours = [
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
        max_bytes = self._max_bytes
        while True:
            letter = fit(key, value, original, ours, max_bytes=max_bytes)
            try:
                await self._producer.send(self._topic, letter.key, letter.value, letter.headers)
            except (MessageSizeTooLargeError, RecordListTooLargeError):
                if max_bytes <= MIN_MAX_BYTES:
                    raise
                max_bytes = max(MIN_MAX_BYTES, max_bytes // 2)
                continue
            if letter.value is not value:
                metrics.DEAD_LETTERS_TRUNCATED.labels(self._service).inc()
                log.warning(
                    "dead letter truncated to fit",
                    extra={"topic": topic, "partition": partition, "offset": offset, "bytes": len(value or b"")},
                )
            return
