"""The one consumer loop: batch, decode, process durably, dead-letter the bad, then commit.

Each poll starts a round (progress.py) that ends within half of max.poll.interval.ms: what it
settled is committed, anything left is read again by the next round, which resumes where it
stopped. How failures are settled (retry, wait, isolate, dead-letter) is settle.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Collection, Sequence
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
from tierflow_common.kafka.outcomes import ErrorPolicy, default_error_policy
from tierflow_common.kafka.progress import Carryover, Round
from tierflow_common.kafka.settle import Abandon, OutOfTime, Settler, WaitState

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
    max_poll_interval_ms: int = 300000
    """Kafka's max.poll.interval.ms: a round (one poll's work) stops after half of it."""

    @property
    def round_budget_s(self) -> float:
        return self.max_poll_interval_ms / 2000


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
        self._clock = clock
        self._settings = settings
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._revoking = False
        self._needs_assignment_hook = True
        self._consumer: AIOKafkaConsumer | None = None
        self._latency_by_topic: dict[str, tuple[Any, Any]] = {}
        self._carry = Carryover()
        self.waits = WaitState(service)
        self._settler = Settler(
            service=service,
            processor=processor,
            dead_letterer=dead_letterer,
            policy=error_policy,
            max_attempts=settings.max_attempts,
            carry=self._carry,
            waits=self.waits,
            pause=self._backoff,
        )
        self.running = False

    @property
    def consumer(self) -> AIOKafkaConsumer | None:
        return self._consumer

    async def check_not_waiting(self) -> None:
        """Readiness: raise while the loop waits on a dependency (database read-only, broker refusing, ...)."""
        await self.waits.check()

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
            max_poll_interval_ms=self._settings.max_poll_interval_ms,
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
                        await self._handle_records(consumer, records)
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
        """One round: settle what it can in its time, commit that, and seek back to the rest."""
        started = time.perf_counter()
        round_ = Round(
            {tp: [m.offset for m in messages] for tp, messages in records.items()},
            deadline=time.monotonic() + self._settings.round_budget_s,
        )
        deliveries: list[Delivery] = []
        abandoned = False
        try:
            if self._needs_assignment_hook:
                await self._settler.run_hook(self._processor.on_assigned, round_, what="on_assigned")
                self._needs_assignment_hook = False
            deliveries = await self._decode(records, round_)
            await self._settler.settle(deliveries, round_)
        except OutOfTime:
            metrics.ROUNDS_CUT_SHORT.labels(self._service).inc()
            log.warning(
                "round out of time; committing what is settled and reading the rest again",
                extra={"budget_s": self._settings.round_budget_s},
            )
        except Abandon:
            abandoned = True
            log.info("batch abandoned; committing what is settled", extra={"reason": "stop or rebalance"})
        offsets = round_.commit_offsets()
        if offsets and await self._commit(consumer, offsets):
            self._carry.committed(offsets)
        if not abandoned:
            self._rewind(consumer, round_.rewind())
        self._observe_done([d for d in deliveries if round_.is_settled(d)], round_.duplicates, round_.dead)
        metrics.BATCH_SIZE.labels(self._service).observe(sum(len(m) for m in records.values()))
        metrics.BATCH_DURATION.labels(self._service).observe(time.perf_counter() - started)
        await self._refresh_lag(consumer, records.keys())

    async def _decode(
        self, records: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]], round_: Round
    ) -> list[Delivery]:
        """Decode and validate every message; dead-letter the ones the contract refuses."""
        deliveries: list[Delivery] = []
        consumed: Counter[str] = Counter()
        for messages in records.values():
            for message in messages:
                consumed[message.topic] += 1
                try:
                    event = decode_event(message.value, key=message.key, base_topic=self._names.base(message.topic))
                except ContractViolation as exc:
                    await self._settler.dead_letter_record(message, round_, reason=exc.reason)
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
        return deliveries

    async def _backoff(self, attempt: int) -> None:
        delay_ms = min(self._settings.retry_backoff_max_ms, self._settings.retry_backoff_ms * 2 ** (attempt - 1))
        deadline = time.monotonic() + delay_ms / 1000
        while time.monotonic() < deadline:
            if self._stop.is_set() or self._revoking:
                raise Abandon()
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        if self._stop.is_set() or self._revoking:
            raise Abandon()

    def _rewind(self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int]) -> None:
        """Read unsettled messages again from the next poll on."""
        for tp, offset in positions.items():
            try:
                consumer.seek(tp, offset)
            except (IllegalStateError, AssertionError):
                continue  # no longer ours: the next owner reads from the committed offset

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> bool:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # We lost these partitions to a rebalance; effects are durable and deduplicated,
            # so the new owner re-reading them changes nothing.
            log.warning("commit rejected after rebalance", extra={"error": type(exc).__name__})
            return False
        except KafkaError as exc:
            # The coordinator is unreachable or refuses: the effects are durable and deduplicated, so a
            # redelivery changes nothing, and the next commit (a later offset) covers these partitions.
            log.warning("commit failed", extra={"error": type(exc).__name__})
            return False
        metrics.LAST_COMMIT.labels(self._service).set(time.time())
        return True

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
            # Idle only when the position is exactly the end: a broker reporting a stale end below what it
            # already served (the embedded broker after a pause) must not let event time run past the
            # partition's unread messages.
            self._clock.set_idle((tp.topic, tp.partition), highwater == position)

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
        self._clock.assign({(tp.topic, tp.partition) for tp in assigned})
        self._carry.keep_only(assigned)
        log.info("partitions assigned", extra={"partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)})


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: ConsumerLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self._loop._partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        await self._loop._partitions_assigned(assigned)
