"""The one consumer loop: batch, decode, process durably, dead-letter the bad, then commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from tierflow_common import metrics
from tierflow_common.clock import Clock
from tierflow_common.events.codec import decode_event
from tierflow_common.events.topics import Topics
from tierflow_common.exceptions import ContractViolation
from tierflow_common.kafka.dead_letter import DeadLetterer
from tierflow_common.kafka.delivery import BatchProcessor, Delivery
from tierflow_common.kafka.outcomes import ErrorPolicy, Outcome, default_error_policy

log = logging.getLogger(__name__)

LATENCY_SAMPLES = 64
"""Latency is observed on an even sample of each batch: enough for the histograms, cheap at 20k/s."""


@dataclass(frozen=True, slots=True)
class LoopSettings:
    """Tuning of the consumer loop (from ServiceSettings)."""

    batch_max_records: int = 2000
    batch_timeout_ms: int = 200
    max_attempts: int = 3
    retry_backoff_ms: int = 100
    retry_backoff_max_ms: int = 5000
    session_timeout_ms: int = 10000


class _Abandon(Exception):
    """The batch is given up without committing (stop requested or partitions revoked)."""


class ConsumerLoop:
    """Consumes topics in a group and drives a BatchProcessor with at-least-once, effectively-once semantics."""

    def __init__(
        self,
        *,
        service: str,
        topics: Sequence[str],
        topic_names: Topics,
        group_id: str,
        client_options: dict[str, Any],
        processor: BatchProcessor,
        dead_letterer: DeadLetterer,
        clock: Clock,
        settings: LoopSettings = LoopSettings(),
        error_policy: ErrorPolicy = default_error_policy,
    ) -> None:
        self._service = service
        self._topics = list(topics)
        self._names = topic_names
        self._group_id = group_id
        self._client_options = client_options
        self._processor = processor
        self._dead_letterer = dead_letterer
        self._clock = clock
        self._settings = settings
        self._policy = error_policy
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._revoking = False
        self._needs_assignment_hook = True
        self._consumer: AIOKafkaConsumer | None = None
        self._latency_by_topic: dict[str, tuple[Any, Any]] = {}
        self.running = False

    @property
    def consumer(self) -> AIOKafkaConsumer | None:
        return self._consumer

    def request_stop(self) -> None:
        """Finish the batch in hand, commit, and leave the group."""
        self._stop.set()

    async def run(self) -> None:
        """Run until `request_stop`; returns after a clean leave of the consumer group."""
        consumer = AIOKafkaConsumer(
            **self._client_options,
            group_id=self._group_id,
            client_id=f"{self._service}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._settings.session_timeout_ms,
            heartbeat_interval_ms=max(1000, self._settings.session_timeout_ms // 5),
            max_poll_interval_ms=300000,
            fetch_max_bytes=16 * 1024 * 1024,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._consumer = consumer
        consumer.subscribe(self._topics, listener=_Listener(self))
        await consumer.start()
        self.running = True
        log.info("consumer started", extra={"group": self._group_id, "topics": self._topics})
        last_lag_refresh = 0.0
        try:
            while not self._stop.is_set():
                records = await consumer.getmany(
                    timeout_ms=self._settings.batch_timeout_ms, max_records=self._settings.batch_max_records
                )
                if records:
                    async with self._lock:
                        try:
                            await self._handle_records(consumer, records)
                        except _Abandon:
                            log.info("batch abandoned uncommitted", extra={"reason": "stop or rebalance"})
                if time.monotonic() - last_lag_refresh > 5:
                    await self._refresh_lag(consumer, consumer.assignment())
                    last_lag_refresh = time.monotonic()
        finally:
            self.running = False
            await consumer.stop()
            log.info("consumer stopped", extra={"group": self._group_id})

    async def _handle_records(
        self, consumer: AIOKafkaConsumer, records: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        started = time.perf_counter()
        if self._needs_assignment_hook:
            await self._with_retries(self._processor.on_assigned, what="on_assigned")
            self._needs_assignment_hook = False
        deliveries: list[Delivery] = []
        consumed: Counter[str] = Counter()
        for messages in records.values():
            for message in messages:
                consumed[message.topic] += 1
                try:
                    event = decode_event(message.value, key=message.key, base_topic=self._names.base(message.topic))
                except ContractViolation as exc:
                    await self._dead_letterer.send(message, reason=exc.reason, kind="contract", attempts=1)
                    self._count_dead_letter(message.topic, "unknown", "contract")
                    continue
                self._clock.observe(event.occurred_at, (message.topic, message.partition))
                deliveries.append(
                    Delivery(
                        event=event,
                        topic=message.topic,
                        partition=message.partition,
                        offset=message.offset,
                        timestamp_ms=message.timestamp,
                        key=message.key,
                        value=message.value,
                        headers=tuple(message.headers or ()),
                    )
                )
        for topic, count in consumed.items():
            metrics.EVENTS_CONSUMED.labels(self._service, topic).inc(count)

        duplicates, dead = await self._process(deliveries)
        await self._commit(consumer, {tp: messages[-1].offset + 1 for tp, messages in records.items()})
        self._observe_done(deliveries, duplicates, dead)
        metrics.BATCH_SIZE.labels(self._service).observe(sum(consumed.values()))
        metrics.BATCH_DURATION.labels(self._service).observe(time.perf_counter() - started)
        await self._refresh_lag(consumer, records.keys())

    async def _process(self, deliveries: list[Delivery]) -> tuple[set[UUID], set[UUID]]:
        """Process the batch; on persistent failure split it so only the guilty events are dead-lettered."""
        if not deliveries:
            return set(), set()
        attempt = 0
        while True:
            try:
                handled = await self._processor.process(deliveries)
                refused = await self._dead_letter_refused(deliveries, handled.rejected, kind="rejected")
                refused |= await self._dead_letter_refused(deliveries, handled.conflicts, kind="conflict")
                return set(handled.duplicates), refused
            except _Abandon:
                raise
            except Exception as exc:
                outcome = self._policy(exc)
                self._count_failure(deliveries, exc)
                attempt += 1
                if outcome is Outcome.WAIT:
                    log.warning("dependency unavailable; retrying batch", extra={"error": type(exc).__name__})
                    await self._backoff(attempt)
                    continue
                if outcome is Outcome.RETRY and attempt < self._settings.max_attempts:
                    await self._backoff(attempt)
                    continue
                if len(deliveries) == 1:
                    await self._dead_letter_delivery(deliveries[0], exc, attempts=attempt)
                    return set(), {deliveries[0].event.event_id}
                log.warning(
                    "batch failed; isolating events",
                    extra={"events": len(deliveries), "error": type(exc).__name__},
                )
                break
        duplicates: set[UUID] = set()
        dead: set[UUID] = set()
        for delivery in deliveries:
            one_duplicate, one_dead = await self._process([delivery])
            duplicates |= one_duplicate
            dead |= one_dead
        return duplicates, dead

    async def _with_retries(self, action: Any, *, what: str) -> None:
        attempt = 0
        while True:
            try:
                await action()
                return
            except _Abandon:
                raise
            except Exception as exc:
                attempt += 1
                log.warning(f"{what} failed; retrying", extra={"error": type(exc).__name__})
                await self._backoff(attempt)

    async def _backoff(self, attempt: int) -> None:
        delay_ms = min(self._settings.retry_backoff_max_ms, self._settings.retry_backoff_ms * 2 ** (attempt - 1))
        deadline = time.monotonic() + delay_ms / 1000
        while time.monotonic() < deadline:
            if self._stop.is_set() or self._revoking:
                raise _Abandon()
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        if self._stop.is_set() or self._revoking:
            raise _Abandon()

    async def _dead_letter_refused(
        self, deliveries: Sequence[Delivery], refused: Mapping[UUID, str], *, kind: str
    ) -> set[UUID]:
        """Dead-letter the events the processor refused (`rejected`, or `conflict`); return their ids."""
        if not refused:
            return set()
        sent: set[UUID] = set()
        for delivery in deliveries:
            reason = refused.get(delivery.event.event_id)
            if reason is None or delivery.event.event_id in sent:
                continue
            await self._dead_letterer.send_delivery(delivery, reason=reason, kind=kind, attempts=1)
            self._count_dead_letter(delivery.topic, delivery.event.event_type, kind)
            sent.add(delivery.event.event_id)
        return sent

    async def _dead_letter_delivery(self, delivery: Delivery, exc: BaseException, *, attempts: int) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        await self._dead_letterer.send_delivery(delivery, reason=reason, kind="processing", attempts=attempts)
        self._count_dead_letter(delivery.topic, delivery.event.event_type, "processing")
        log.error(
            "event dead-lettered",
            extra={
                "event_id": str(delivery.event.event_id),
                "topic": delivery.topic,
                "partition": delivery.partition,
                "offset": delivery.offset,
                "error": type(exc).__name__,
            },
        )

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # We lost these partitions to a rebalance; effects are durable and deduplicated,
            # so the new owner re-reading them changes nothing.
            log.warning("commit rejected after rebalance", extra={"error": type(exc).__name__})
            return
        metrics.LAST_COMMIT.labels(self._service).set(time.time())

    def _observe_done(self, deliveries: Sequence[Delivery], duplicates: set[UUID], dead: set[UUID]) -> None:
        """Count per batch; observe latency on at most LATENCY_SAMPLES events per batch (evenly spread)."""
        now = datetime.now(UTC)
        now_s = now.timestamp()
        processed: Counter[tuple[str, str]] = Counter()
        duplicated: Counter[tuple[str, str]] = Counter()
        for delivery in deliveries:
            key = (delivery.topic, delivery.event.event_type)
            event_id = delivery.event.event_id
            if event_id in dead:
                continue
            processed[key] += 1
            if event_id in duplicates:
                duplicated[key] += 1
        stride = max(1, len(deliveries) // LATENCY_SAMPLES)
        for delivery in deliveries[::stride]:
            event = delivery.event
            if event.event_id in dead or event.event_id in duplicates:
                continue
            latency, own = self._latency_children(delivery.topic)
            latency.observe(max(0.0, now_s - event.occurred_at.timestamp()))
            if delivery.timestamp_ms > 0:
                own.observe(max(0.0, now_s - delivery.timestamp_ms / 1000))
        for (topic, event_type), count in processed.items():
            metrics.EVENTS_PROCESSED.labels(self._service, topic, event_type).inc(count)
        for (topic, event_type), count in duplicated.items():
            metrics.EVENTS_DUPLICATE.labels(self._service, topic, event_type).inc(count)

    def _latency_children(self, topic: str) -> tuple[Any, Any]:
        children = self._latency_by_topic.get(topic)
        if children is None:
            children = (
                metrics.PROCESSING_LATENCY.labels(self._service, topic),
                metrics.BROKER_TO_COMMIT.labels(self._service, topic),
            )
            self._latency_by_topic[topic] = children
        return children

    def _count_failure(self, deliveries: Sequence[Delivery], exc: BaseException) -> None:
        per_type: Counter[tuple[str, str]] = Counter((d.topic, d.event.event_type) for d in deliveries)
        for (topic, event_type), count in per_type.items():
            metrics.EVENTS_FAILED.labels(self._service, topic, event_type, type(exc).__name__).inc(count)

    def _count_dead_letter(self, topic: str, event_type: str, kind: str) -> None:
        metrics.EVENTS_DEAD_LETTERED.labels(self._service, topic, event_type, kind).inc()

    async def _refresh_lag(self, consumer: AIOKafkaConsumer, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = await consumer.position(tp)
            except (IllegalStateError, KafkaError):
                continue
            lag = max(0, highwater - position)
            metrics.CONSUMER_LAG.labels(self._service, tp.topic, str(tp.partition)).set(lag)
            self._clock.set_idle((tp.topic, tp.partition), lag == 0)

    # Called by the rebalance listener.
    async def _partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self._revoking = True
        try:
            async with self._lock:  # wait for the batch in hand to commit (or be abandoned)
                pass
        finally:
            self._revoking = False
        for tp in revoked:
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(self._service, tp.topic, str(tp.partition))

    async def _partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self._needs_assignment_hook = True
        log.info("partitions assigned", extra={"partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)})


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: ConsumerLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self._loop._partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        await self._loop._partitions_assigned(assigned)
