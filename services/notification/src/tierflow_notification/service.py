"""The notification batch handler: keeps the contact projection, plans and cancels outreach steps.

Per batch, in one transaction with the inbox claim:
- customer events update the consent/timezone projection; a withdrawn consent cancels pending
  marketing steps that have no consented channel left (`consent_withdrawn`);
- trades and logins mark the customer active, which stops the steps that stop on return
  (`customer_returned`), the reactivation ladder at once;
- a new routing decision cancels the customer's pending steps of earlier decisions
  (`route_changed`) and plans the steps of its flow's playbook.
Steps are sent later by the step runner (runner.py), when due.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tierflow_common.clock import Clock
from tierflow_common.db.inbox import claim_fresh, newest_per_customer
from tierflow_common.db.outbox import Outbox, OutboxTransaction
from tierflow_common.events import CustomerUpdated, RoutingDecided, Topics
from tierflow_common.events.envelope import LoginSucceeded, TradeExecuted
from tierflow_common.events.outputs import MessageClass, NotificationStatus
from tierflow_common.kafka.delivery import BatchOutcome, Delivery
from tierflow_notification.adapters import repository
from tierflow_notification.adapters.repository import Record, StoredStep
from tierflow_notification.domain.governance import DueStep, choose_channel
from tierflow_notification.domain.outreach import Decision, outcome_id, plan_steps
from tierflow_notification.domain.playbooks import PlaybookSet
from tierflow_notification.records import log_records

MARKETING_CONSENTS = ("marketing_push", "marketing_sms", "marketing_email", "marketing_phone")


def decision_of(event: RoutingDecided) -> Decision:
    p = event.payload
    return Decision(
        customer_id=event.customer_id,
        decision_id=p.decision_id,
        version=p.version,
        flow=p.flow,
        priority=p.priority,
        advisor_id=p.advisor_id,
        active=p.active,
    )


def due_view(step: StoredStep) -> DueStep:
    return DueStep(
        channels=step.channels,
        message_class=step.message_class,
        stop_when_active=step.stop_when_active,
        planned_at=step.planned_at,
        first_due_at=step.first_due_at,
    )


class NotificationService:
    def __init__(self, *, outbox: Outbox, topics: Topics, clock: Clock, playbooks: PlaybookSet) -> None:
        self._outbox = outbox
        self._topics = topics
        self._clock = clock
        self._playbooks = playbooks

    async def process(self, deliveries: Sequence[Delivery]) -> BatchOutcome:
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            conn = tx.connection
            fresh, duplicates = await claim_fresh(conn, deliveries)
            customers = [e for e in fresh if isinstance(e, CustomerUpdated)]
            withdrawn = await self._project_customers(tx, customers, now)
            active_at: dict[str, datetime] = {}
            for e in fresh:
                if isinstance(e, TradeExecuted | LoginSucceeded):
                    active_at[e.customer_id] = max(e.occurred_at, active_at.get(e.customer_id, e.occurred_at))
            await repository.mark_active(conn, active_at=active_at, now=now)

            decisions = [decision_of(e) for e in fresh if isinstance(e, RoutingDecided)]
            stored = await repository.last_versions_for_update(conn, customer_ids=(d.customer_id for d in decisions))
            newest = newest_per_customer(decisions, customer=lambda d: d.customer_id, version=lambda d: d.version)
            current = {
                cid: d for cid, d in newest.items() if d.version > stored.get(cid, 0)
            }  # decisions older than one already seen plan nothing

            affected = set(current) | set(active_at) | withdrawn
            contacts = await repository.load_contacts(conn, affected)
            cancelled: list[Record] = []
            changes: list[dict[str, Any]] = []
            for step in await repository.active_steps_for_update(conn, affected):
                if step.status == "sending":
                    continue  # already being delivered
                reason = None
                new = current.get(step.customer_id)
                if new is not None and step.decision_id != new.decision_id:
                    reason = "route_changed"
                elif step.stop_when_active and active_at.get(step.customer_id, step.planned_at) > step.planned_at:
                    reason = "customer_returned"
                elif (
                    step.customer_id in withdrawn
                    and step.message_class is MessageClass.MARKETING
                    and choose_channel(due_view(step), contacts.get(step.customer_id)) is None
                ):
                    reason = "consent_withdrawn"
                if reason is not None:
                    changes.append(
                        {"step_id": step.step_id, "status": "cancelled", "last_reason": reason, "updated_at": now}
                    )
                    cancelled.append(
                        Record(
                            outcome_id(step.step_id, "cancelled", step.attempts, reason),
                            step,
                            step.channel or step.channels[0],
                            NotificationStatus.SUPPRESSED,
                            reason,
                        )
                    )
            await repository.update_steps(conn, changes)
            await repository.cancel_open_tasks(conn, customer_ids=current, now=now)
            planned = [p for d in current.values() for p in plan_steps(d, self._playbooks, now=now)]
            await repository.insert_steps(conn, planned, now=now)
            await repository.remember_decisions(conn, current=list(current.values()), now=now)
            await log_records(tx, cancelled, now, self._topics)
        return BatchOutcome(duplicates=duplicates)

    async def _project_customers(
        self, tx: OutboxTransaction, customers: Sequence[CustomerUpdated], now: datetime
    ) -> set[str]:
        """Update the projection; return the customers whose newest event withdraws a marketing consent."""
        newest: dict[str, CustomerUpdated] = {}
        for e in customers:
            if e.customer_id not in newest or e.occurred_at >= newest[e.customer_id].occurred_at:
                newest[e.customer_id] = e
        await repository.upsert_contacts(
            tx.connection,
            [
                {
                    "customer_id": cid,
                    "consents": e.payload.consents.model_dump(),
                    "consents_as_of": e.occurred_at,
                    "timezone": e.payload.timezone,
                    "closed": e.payload.closed,
                    "last_active_at": None,
                    "updated_at": now,
                }
                for cid, e in sorted(newest.items())
            ],
        )
        return {
            cid
            for cid, e in newest.items()
            if e.payload.closed or not all(getattr(e.payload.consents, c) for c in MARKETING_CONSENTS)
        }

    async def on_assigned(self) -> None:
        await self._outbox.recover()
