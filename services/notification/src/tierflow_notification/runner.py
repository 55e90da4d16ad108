"""The step runner: sends due outreach steps under governance, durably, exactly once per record.

One sweep, in three moves:
1. In a transaction: take due steps no other runner holds (SKIP LOCKED), lock their customers'
   contacts (so two runners cannot both use a customer's last frequency-cap slot), and govern each
   step. Deferrals and suppressions are recorded at once; a step to send is marked `sending` with
   a lease, and the transaction commits before anything leaves.
2. Deliver, outside any transaction, concurrently and each with a timeout, so a slow provider
   delays nobody else; every message carries its notification id as the idempotency key.
3. In a transaction: record `sent`, or reschedule with exponential backoff (`provider_retry`,
   `provider_unavailable` while the circuit is open), or after the last attempt dead-letter it
   (`provider_gave_up`, a delivery_failures row and a `failed` record).

The guarantee: a step's send record is written once (its id is derived from the step). The
delivery itself is at least once: if the process dies between 2 and 3, the step's lease expires
and it is delivered again under the same notification id, which the webhook passes as
`Idempotency-Key` and the advisor-task store uses as the task id, so the effect happens once.

A step whose lease lapsed is decided again like any due step before it goes out again: a newer
route cancels it (`route_changed`), and governance may suppress it (closed account, consent
withdrawn, customer returned) or defer it (quiet hours, frequency cap) under the rules of that
moment. A recurring step's next occurrence is planned in the transaction that settles one (sent,
suppressed, given up), under an id derived from its number, so it is stored once however often that
happens (domain/recurrence.py). Every hand-over to a provider is an attempt, a re-send after a lapsed lease included; a
step whose lease lapsed on its last allowed attempt is given up (`attempts_exhausted`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.clock import Clock
from tierflow_common.db.outbox import Outbox, OutboxTransaction
from tierflow_common.events import Topics
from tierflow_common.events.outputs import MessageClass, NotificationChannel, NotificationStatus
from tierflow_notification import metrics
from tierflow_notification.adapters import contacts, records, steps
from tierflow_notification.adapters.calls import lock_day, take_call
from tierflow_notification.adapters.channels import ChannelAdapter, CircuitOpen, DeliveryError, OutboundMessage
from tierflow_notification.domain.cancellation import ROUTE_CHANGED, superseded
from tierflow_notification.domain.governance import Action, Verdict, call_over_share, govern
from tierflow_notification.domain.outreach import PlannedStep, following, outcome_id, sent_id
from tierflow_notification.domain.playbooks import Governance
from tierflow_notification.domain.records import NotificationRecord
from tierflow_notification.domain.steps import StepChange, StepStatus, StoredStep, due_view
from tierflow_notification.notification_log import log_records


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Attempts, backoff, lease, timeout and concurrency of deliveries (from the service settings)."""

    max_attempts: int = 6
    backoff_s: float = 2.0
    backoff_max_s: float = 600.0
    lease_s: float = 60.0
    timeout_s: float = 10.0
    concurrency: int = 32
    clock_speed: float = 1.0  # real seconds above are stretched by this on an accelerated clock

    def clock_delta(self, seconds: float) -> timedelta:
        """Real seconds as a span of the service's clock."""
        return timedelta(seconds=seconds * self.clock_speed)

    def backoff(self, attempt: int) -> timedelta:
        """The wait before retrying after `attempt` failed: doubling, capped."""
        return self.clock_delta(min(self.backoff_max_s, self.backoff_s * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True, slots=True)
class Sending:
    """A step marked `sending`: the channel it goes out on, the consent evidence it relied on, which attempt."""

    step: StoredStep
    channel: NotificationChannel
    evidence: dict[str, object] | None
    attempt: int


class StepRunner:
    """Sends due steps: govern and lease, deliver outside any transaction, settle."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        topics: Topics,
        clock: Clock,
        governance: Governance,
        adapters: Mapping[NotificationChannel, ChannelAdapter],
        policy: DeliveryPolicy,
        batch: int,
    ) -> None:
        self._outbox = outbox
        self._topics = topics
        self._clock = clock
        self._governance = governance
        self._call_limits = governance.calls.limits()
        self._adapters = adapters
        self._policy = policy
        self._batch = batch
        self._slots = asyncio.Semaphore(policy.concurrency)

    async def sweep_once(self) -> int:
        """Handle one batch of due steps; return how many there were (0: nothing due)."""
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            due = await steps.due_steps_for_update(tx.connection, now=now, limit=self._batch)
            if not due:
                return 0
            sending = await self._govern(tx, due, now)
        results = await asyncio.gather(*(self._deliver(s, now) for s in sending))
        async with self._outbox.transaction() as tx:
            await self._settle(tx, list(zip(sending, results, strict=True)))
        return len(due)

    async def _govern(self, tx: OutboxTransaction, due: Sequence[StoredStep], now: datetime) -> list[Sending]:
        conn = tx.connection
        customers = {s.customer_id for s in due}
        known = await contacts.load_contacts(conn, customers, lock=True)
        current = await contacts.current_decision_ids(conn, customers)
        window = timedelta(days=self._governance.frequency_cap.per_days)
        sent = await records.marketing_sent(conn, customers, since=now - window)
        logged: list[NotificationRecord] = []
        sending: list[Sending] = []
        changes: list[StepChange] = []
        successors: list[PlannedStep | None] = []  # a recurring series' next occurrences (domain/recurrence.py)
        lease_until = now + self._policy.clock_delta(self._policy.lease_s)
        if self._governance.calls.limited:
            calling = {s.tier for s in due if s.outbound_call and s.tier is not None}
            await lock_day(conn, day=self._governance.calls.day_of(now), tiers=calling)
        for step in due:
            channel = step.channel or step.channels[0]
            if step.status is StepStatus.SENDING and step.attempts >= self._policy.max_attempts:
                # Its lease lapsed on the last attempt allowed: the sender died every time. Give up.
                change, record = await self._give_up(
                    conn,
                    step,
                    channel,
                    attempts=step.attempts,
                    reason="attempts_exhausted",
                    error=f"the lease lapsed on attempt {step.attempts}: the sender stopped before recording it",
                    now=now,
                )
                changes.append(change)
                logged.append(record)
                successors.append(following(step, "attempts_exhausted", now=now))
                continue
            # A step whose lease lapsed (its sender died) is decided again from here, like any due step.
            if superseded(step, current.get(step.customer_id)):
                changes.append(StepChange(step.step_id, now, status=StepStatus.CANCELLED, last_reason=ROUTE_CHANGED))
                logged.append(
                    NotificationRecord(
                        outcome_id(step.step_id, "cancelled", step.attempts, ROUTE_CHANGED),
                        step,
                        channel,
                        NotificationStatus.SUPPRESSED,
                        ROUTE_CHANGED,
                    )
                )
                continue
            verdict = govern(
                due_view(step),
                contact=known.get(step.customer_id),
                now=now,
                marketing_sent=sent.get(step.customer_id, []),
                rules=self._governance,
            )
            if verdict.action is Action.SEND and step.outbound_call and step.attempts == 0:
                verdict = await self._within_call_share(conn, step, verdict, now)
            channel = verdict.channel or step.channels[0]
            if verdict.action is Action.SEND:
                attempt = step.attempts + 1
                changes.append(
                    StepChange(
                        step.step_id,
                        now,
                        status=StepStatus.SENDING,
                        channel=channel,
                        attempts=attempt,
                        due_at=lease_until,
                    )
                )
                sending.append(Sending(step, channel, verdict.evidence or None, attempt))
                if step.message_class is MessageClass.MARKETING:
                    sent.setdefault(step.customer_id, []).append(now)  # counts for the rest of the batch
            elif verdict.action is Action.DEFER:
                assert verdict.until is not None
                changes.append(
                    StepChange(
                        step.step_id,
                        now,
                        status=StepStatus.PENDING,  # a lapsed step waits like any other
                        due_at=verdict.until,
                        last_reason=verdict.reason,
                    )
                )
                key = f"{verdict.reason}@{verdict.until.isoformat()}"
                logged.append(
                    NotificationRecord(
                        outcome_id(step.step_id, "deferred", step.attempts, key),
                        step,
                        channel,
                        NotificationStatus.DEFERRED,
                        verdict.reason,
                        due_at=verdict.until,
                        evidence=verdict.evidence or None,
                    )
                )
            else:
                successors.append(following(step, verdict.reason, now=now))  # a closed account or a return: none
                changes.append(StepChange(step.step_id, now, status=StepStatus.CANCELLED, last_reason=verdict.reason))
                logged.append(
                    NotificationRecord(
                        outcome_id(step.step_id, "suppressed", step.attempts, verdict.reason),
                        step,
                        channel,
                        NotificationStatus.SUPPRESSED,
                        verdict.reason,
                        evidence=verdict.evidence or None,
                    )
                )
        await steps.update_steps(conn, changes)
        await steps.insert_steps(conn, [s for s in successors if s is not None], now=now)
        await log_records(tx, logged, now, self._topics)
        return sending

    async def _within_call_share(
        self, conn: AsyncConnection, step: StoredStep, verdict: Verdict, now: datetime
    ) -> Verdict:
        """A call that may go, counted against its tier's calls of the day (rule 7 of domain/governance.py); its
        first attempt only, so a retried hand-over is not counted twice. Steps without a tier (planned before
        0008) are not limited."""
        calls = self._governance.calls
        if not calls.limited or step.tier is None:
            return verdict
        if await take_call(conn, day=calls.day_of(now), tier=step.tier, limit=self._call_limits[step.tier]):
            metrics.OUTBOUND_CALLS.labels(step.tier.value, "taken").inc()
            return verdict
        metrics.OUTBOUND_CALLS.labels(step.tier.value, "share_spent").inc()
        return call_over_share(due_view(step), verdict, now=now, calls=calls)

    async def _give_up(
        self,
        conn: AsyncConnection,
        step: StoredStep,
        channel: NotificationChannel,
        *,
        attempts: int,
        reason: str,
        error: str,
        now: datetime,
    ) -> tuple[StepChange, NotificationRecord]:
        """Dead-letter a step after its last attempt: a `delivery_failures` row, the step done, a `failed` record."""
        failed_id = outcome_id(step.step_id, "failed", attempts, reason)
        await records.record_failure(
            conn, notification_id=failed_id, step=step, channel=channel, attempts=attempts, error=error, now=now
        )
        change = StepChange(step.step_id, now, status=StepStatus.DONE, last_reason=reason)
        return change, NotificationRecord(failed_id, step, channel, NotificationStatus.FAILED, reason)

    async def _deliver(self, sending: Sending, now: datetime) -> DeliveryError | None:
        step = sending.step
        message = OutboundMessage(
            notification_id=sent_id(step.step_id),
            decision_id=step.decision_id,
            customer_id=step.customer_id,
            flow=step.flow,
            channel=sending.channel,
            message_class=step.message_class,
            template=step.template,
            advisor_id=step.advisor_id,
            priority=step.priority,
            sent_at=now,
            # A recurring task is due by its window from its occurrence's opening, however late it was handed over.
            task_due_at=(now if step.every is None else step.first_due_at) + timedelta(days=step.task_due_days),
            tier=step.tier,
        )
        async with self._slots:
            try:
                await asyncio.wait_for(self._adapters[sending.channel].deliver(message), self._policy.timeout_s)
            except DeliveryError as exc:
                return exc
            except TimeoutError:
                return DeliveryError("provider timed out")
            except Exception as exc:  # a broken adapter must not stop the other customers' messages
                return DeliveryError(f"adapter error: {type(exc).__name__}")
        return None

    async def _settle(self, tx: OutboxTransaction, outcomes: Sequence[tuple[Sending, DeliveryError | None]]) -> None:
        conn = tx.connection
        now = self._clock.now()
        logged: list[NotificationRecord] = []
        changes: list[StepChange] = []
        successors: list[PlannedStep | None] = []
        for sending, error in outcomes:
            step, channel, attempts = sending.step, sending.channel, sending.attempt
            if error is None:
                changes.append(StepChange(step.step_id, now, status=StepStatus.DONE, last_reason="delivered"))
                successors.append(following(step, "delivered", now=now))
                logged.append(
                    NotificationRecord(
                        sent_id(step.step_id),
                        step,
                        channel,
                        NotificationStatus.SENT,
                        "delivered",
                        None,
                        sending.evidence,
                    )
                )
            elif isinstance(error, CircuitOpen):
                retry_at = now + self._policy.clock_delta(error.retry_in_s)
                changes.append(
                    StepChange(
                        step.step_id,
                        now,
                        status=StepStatus.PENDING,
                        attempts=attempts - 1,
                        due_at=retry_at,
                        last_reason="provider_unavailable",
                    )
                )
            elif error.retryable and attempts < self._policy.max_attempts:
                retry_at = now + self._policy.backoff(attempts)
                changes.append(
                    StepChange(
                        step.step_id, now, status=StepStatus.PENDING, due_at=retry_at, last_reason="provider_retry"
                    )
                )
                logged.append(
                    NotificationRecord(
                        outcome_id(step.step_id, "deferred", attempts, "provider_retry"),
                        step,
                        channel,
                        NotificationStatus.DEFERRED,
                        "provider_retry",
                        due_at=retry_at,
                    )
                )
            else:
                change, record = await self._give_up(
                    conn, step, channel, attempts=attempts, reason="provider_gave_up", error=str(error), now=now
                )
                changes.append(change)
                logged.append(record)
                successors.append(following(step, "provider_gave_up", now=now))
        await steps.update_steps(conn, changes)
        await steps.insert_steps(conn, [s for s in successors if s is not None], now=now)
        await log_records(tx, logged, now, self._topics)
