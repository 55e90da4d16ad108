"""Settling a round's events: process durably, retry, wait out outages, isolate, dead-letter.

The error policy names an outcome per failure; this module applies it within the round's time
budget. Nothing here lets a message stop the loop: a dead letter that cannot be sent waits like
any outage, and a round that runs out of time stops with what it settled (see `progress.py`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any
from uuid import UUID

from aiokafka import TopicPartition

from tierflow_common import metrics
from tierflow_common.errors_text import safe_reason
from tierflow_common.kafka.dead_letter import DeadLetterer
from tierflow_common.kafka.delivery import BatchOutcome, BatchProcessor, Delivery
from tierflow_common.kafka.outcomes import ErrorPolicy, Outcome
from tierflow_common.kafka.progress import Carryover, Position, Round, position

log = logging.getLogger(__name__)

Pause = Callable[[int], Awaitable[None]]
"""Sleep the backoff of the n-th consecutive failure; raises `Abandon` on stop or revocation."""


class Abandon(Exception):
    """The round is given up (stop requested or partitions revoked); what it settled is committed."""


class OutOfTime(Exception):
    """The round used its share of max.poll.interval.ms; what it settled is committed, the rest re-read."""


class DependencyWait(Exception):
    """Readiness: the consumer loop is waiting on a dependency (the message says which error)."""


class WaitState:
    """Whether the loop is waiting on a dependency now: the readiness check and the metrics."""

    def __init__(self, service: str) -> None:
        self._service = service
        self.reason: str | None = None
        metrics.CONSUMER_WAITING.labels(service).set(0)

    def waiting(self, exc: BaseException, *, what: str) -> None:
        """A failed attempt that is not the event's fault: count it, turn readiness red."""
        error = type(exc).__name__
        metrics.CONSUMER_WAITS.labels(self._service, error).inc()
        if self.reason is None:
            log.warning("waiting on a dependency", extra={"error": error, "step": what})
        self.reason = f"{what}: {error}"
        metrics.CONSUMER_WAITING.labels(self._service).set(1)

    def resumed(self) -> None:
        if self.reason is not None:
            log.info("dependency back; resuming", extra={"step": self.reason})
        self.reason = None
        metrics.CONSUMER_WAITING.labels(self._service).set(0)

    async def check(self) -> None:
        """Raise while waiting (the /readyz check `consumer`)."""
        if self.reason is not None:
            raise DependencyWait(self.reason)


class Settler:
    """Applies the error policy to a round's deliveries; records what it settled in the round."""

    def __init__(
        self,
        *,
        service: str,
        processor: BatchProcessor,
        dead_letterer: DeadLetterer,
        policy: ErrorPolicy,
        max_attempts: int,
        carry: Carryover,
        waits: WaitState,
        pause: Pause,
    ) -> None:
        self._service = service
        self._processor = processor
        self._dead_letterer = dead_letterer
        self._policy = policy
        self._max_attempts = max_attempts
        self._carry = carry
        self._waits = waits
        self._pause = pause

    async def run_hook(self, hook: Callable[[], Awaitable[None]], round_: Round, *, what: str) -> None:
        """Run a preparation step (on_assigned) until it succeeds, within the round's time."""
        failures = 0
        while True:
            round_.attempted = True
            try:
                await hook()
            except Abandon:
                raise
            except Exception as exc:
                failures += 1
                self._waits.waiting(exc, what=what)
                await self._pause_or_stop(failures, round_)
                continue
            self._waits.resumed()
            return

    async def dead_letter_record(self, message: Any, round_: Round, *, reason: str) -> None:
        """Dead-letter an undecodable or invalid message (kind `contract`), waiting out send failures."""
        where: Position = (TopicPartition(message.topic, message.partition), message.offset)
        await self._send_dead_letter(
            where,
            round_,
            lambda: self._dead_letterer.send(message, reason=reason, kind="contract", attempts=1),
            topic=message.topic,
            event_type="unknown",
            kind="contract",
        )
        round_.settle(where)

    async def settle(self, deliveries: Sequence[Delivery], round_: Round) -> None:
        """Settle the deliveries: those whose batch failed before event by event, then the rest as a batch."""
        carried = [d for d in deliveries if self._carry.isolating(d)]
        fresh = [d for d in deliveries if not self._carry.isolating(d)]
        for delivery in carried:
            await self._one(delivery, round_)
        if fresh:
            await self._batch(fresh, round_)

    async def _batch(self, deliveries: list[Delivery], round_: Round) -> None:
        failures = waits = 0
        while True:
            if round_.out_of_time():
                raise OutOfTime()
            round_.attempted = True
            try:
                handled = await self._processor.process(deliveries)
            except Abandon:
                raise
            except Exception as exc:
                outcome = self._policy(exc)
                self._count_failure(deliveries, exc)
                if outcome is Outcome.WAIT:
                    waits += 1
                    self._waits.waiting(exc, what="processing")
                    await self._pause_or_stop(waits, round_)
                    continue
                failures += 1
                if outcome is Outcome.RETRY and failures < self._max_attempts:
                    if round_.out_of_time():
                        self._carry.isolate(deliveries)  # the next round goes event by event at once
                        raise OutOfTime() from exc
                    await self._pause(failures)
                    continue
                if len(deliveries) == 1:
                    self._carry.failures[position(deliveries[0])] = (failures, _reason(exc))
                    await self._dead_letter_failed(deliveries[0], round_)
                    return
                log.warning(
                    "batch failed; isolating events", extra={"events": len(deliveries), "error": type(exc).__name__}
                )
                self._carry.isolate(deliveries)
                for delivery in deliveries:
                    await self._one(delivery, round_)
                return
            self._waits.resumed()
            await self._settled(deliveries, handled, round_)
            return

    async def _one(self, delivery: Delivery, round_: Round) -> None:
        """Isolate one event: its own transaction, max_attempts tries (counted across rounds), then the DLQ."""
        where = position(delivery)
        waits = 0
        while self._carry.failures.get(where, (0, ""))[0] < self._max_attempts:
            if round_.out_of_time():
                raise OutOfTime()
            round_.attempted = True
            try:
                handled = await self._processor.process([delivery])
            except Abandon:
                raise
            except Exception as exc:
                outcome = self._policy(exc)
                self._count_failure([delivery], exc)
                if outcome is Outcome.WAIT:
                    waits += 1
                    self._waits.waiting(exc, what="processing")
                    await self._pause_or_stop(waits, round_)
                    continue
                failures = self._carry.failures.get(where, (0, ""))[0] + 1
                self._carry.failures[where] = (failures, _reason(exc))
                if outcome is Outcome.DEAD_LETTER:
                    break
                if failures < self._max_attempts:
                    await self._pause(failures)
                continue
            self._waits.resumed()
            await self._settled([delivery], handled, round_)
            return
        await self._dead_letter_failed(delivery, round_)

    async def _settled(self, deliveries: Sequence[Delivery], handled: BatchOutcome, round_: Round) -> None:
        """The batch committed: dead-letter what the processor refused, then settle every delivery."""
        await self._dead_letter_refused(deliveries, handled.rejected, round_, kind="rejected")
        await self._dead_letter_refused(deliveries, handled.conflicts, round_, kind="conflict")
        round_.duplicates |= set(handled.duplicates)
        round_.settle_deliveries(deliveries)

    async def _dead_letter_refused(
        self, deliveries: Sequence[Delivery], refused: Mapping[UUID, str], round_: Round, *, kind: str
    ) -> None:
        """Dead-letter the events the processor refused (`rejected`, or `conflict`), each id once."""
        if not refused:
            return
        sent: set[UUID] = set()
        for delivery in deliveries:
            event_id = delivery.event.event_id
            reason = refused.get(event_id)
            if reason is None or event_id in sent:
                continue
            await self._send_dead_letter(
                position(delivery),
                round_,
                partial(self._dead_letterer.send_delivery, delivery, reason=reason, kind=kind, attempts=1),
                topic=delivery.topic,
                event_type=delivery.event.event_type,
                kind=kind,
            )
            sent.add(event_id)
            round_.dead.add(event_id)

    async def _dead_letter_failed(self, delivery: Delivery, round_: Round) -> None:
        where = position(delivery)
        attempts, reason = self._carry.failures.get(where, (self._max_attempts, "processing failed"))
        await self._send_dead_letter(
            where,
            round_,
            lambda: self._dead_letterer.send_delivery(delivery, reason=reason, kind="processing", attempts=attempts),
            topic=delivery.topic,
            event_type=delivery.event.event_type,
            kind="processing",
        )
        log.error(
            "event dead-lettered",
            extra={
                "event_id": str(delivery.event.event_id),
                "topic": delivery.topic,
                "partition": delivery.partition,
                "offset": delivery.offset,
                "error": reason.split(":", 1)[0],
            },
        )
        self._carry.failures.pop(where, None)
        round_.dead.add(delivery.event.event_id)
        round_.settle(where)

    async def _send_dead_letter(
        self,
        where: Position,
        round_: Round,
        send: Callable[[], Awaitable[None]],
        *,
        topic: str,
        event_type: str,
        kind: str,
    ) -> None:
        """Send one dead letter once; any failure waits like an outage (the loop never stops on a message)."""
        failures = 0
        while where not in self._carry.dead_lettered:
            round_.attempted = True
            try:
                await send()
            except Abandon:
                raise
            except Exception as exc:
                failures += 1
                self._waits.waiting(exc, what="dead-letter")
                await self._pause_or_stop(failures, round_)
                continue
            self._waits.resumed()
            self._carry.dead_lettered.add(where)
            metrics.EVENTS_DEAD_LETTERED.labels(self._service, topic, event_type, kind).inc()

    async def _pause_or_stop(self, failures: int, round_: Round) -> None:
        if round_.out_of_time():
            raise OutOfTime()
        await self._pause(failures)

    def _count_failure(self, deliveries: Sequence[Delivery], exc: BaseException) -> None:
        per_type: Counter[tuple[str, str]] = Counter((d.topic, d.event.event_type) for d in deliveries)
        for (topic, event_type), count in per_type.items():
            metrics.EVENTS_FAILED.labels(self._service, topic, event_type, type(exc).__name__).inc(count)


def _reason(exc: BaseException) -> str:
    """The dead-letter reason: the error without SQL, bound parameters or row values (personal data)."""
    return safe_reason(exc)
