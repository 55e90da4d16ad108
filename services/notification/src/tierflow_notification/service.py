"""The notification batch processor: keeps the contact projection, plans and cancels outreach steps.

Events the shared admission rule refuses (tierflow_common.admission: a trade or login older than the
late-arrival horizon, anything dated beyond the future tolerance) are reported for the dead-letter
topic before the claim, exactly as the profile service refuses them, and change nothing.
Per batch, in one transaction with the inbox claim (the rules are in domain/cancellation.py):
- customer events update the consent/timezone projection; a withdrawn consent cancels pending
  marketing steps that have no consented channel left (`consent_withdrawn`);
- trades and logins mark the customer active, which stops the steps that stop on return
  (`customer_returned`), the reactivation ladder at once;
- a new routing decision cancels the customer's pending steps of earlier decisions
  (`route_changed`) and plans the steps of its flow's playbook, unless it keeps the flow, priority
  and advisor of the playbook in force (an experiment arm or the holdout changed): then the playbook
  continues (domain/continuation.py); a decision in the routing policy's global holdout has its
  marketing steps cancelled at once, recorded `suppressed` / `holdout` (domain/holdout.py);
- a recurring step's next occurrence is planned when one is cancelled for a reason that keeps the
  series (a withdrawn consent; domain/recurrence.py);
- a contact.logged by an advisor satisfies that period's recurring contact or review task
  (contact_evidence.py);
- a decision whose experiment arm names a playbook variant plays it when its flow has it, else the
  flow's own playbook, counted and logged once the batch is committed (`report_fallbacks`);
- a new plan of the catalogue's flow (community) also plans the catalogue items its customer was not
  offered yet, one every `every_days` (domain/catalogue.py, domain/offers.py).
Each event type's handler (handlers.py) folds it into the batch's plan; this module applies it.
Steps are sent later by the step runner (runner.py), when due.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.admission import AdmissionRule, received_at, rejection
from tierflow_common.clock import Clock
from tierflow_common.db.inbox import claim_fresh
from tierflow_common.db.outbox import Outbox
from tierflow_common.events import Topics
from tierflow_common.kafka.delivery import BatchOutcome, Delivery
from tierflow_notification.adapters import contacts, records, steps, tasks
from tierflow_notification.contact_evidence import apply_contacts
from tierflow_notification.domain.cancellation import cancel_steps, withdraws_marketing_consent
from tierflow_notification.domain.continuation import plans_after
from tierflow_notification.domain.holdout import holdout_suppressions, pending_suppressions
from tierflow_notification.domain.offers import plan_all_offers
from tierflow_notification.domain.outreach import Decision, PlannedStep, decisions_to_plan, following, plan_steps
from tierflow_notification.domain.playbooks import PlaybookSet
from tierflow_notification.domain.steps import StoredStep
from tierflow_notification.handlers import plan_batch
from tierflow_notification.metrics import PLAYBOOK_FALLBACKS
from tierflow_notification.notification_log import log_records

log = logging.getLogger(__name__)


def report_fallbacks(decisions: Iterable[Decision], playbooks: PlaybookSet) -> None:
    """Count and log each active decision whose named playbook variant is not played (the flow's own is).
    The log names the decision, its flow and the variant asked for; no customer data."""
    for decision in decisions:
        if not decision.active:
            continue
        fallback = playbooks.choose(decision.flow, decision.priority, decision.playbook).fallback
        if fallback is None:
            continue
        PLAYBOOK_FALLBACKS.labels(decision.flow.value, fallback.value).inc()
        log.warning(
            "playbook variant not played; the flow's own playbook plays",
            extra={
                "decision_id": str(decision.decision_id),
                "flow": decision.flow.value,
                "playbook": decision.playbook,
                "reason": fallback.value,
                "playbooks_version": playbooks.version,
            },
        )


class NotificationService:
    """The batch processor of the consumer loop (tierflow_common.kafka.delivery.BatchProcessor)."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        topics: Topics,
        clock: Clock,
        playbooks: PlaybookSet,
        rule: AdmissionRule = AdmissionRule(),
    ) -> None:
        self._outbox = outbox
        self._topics = topics
        self._clock = clock
        self._playbooks = playbooks
        self._rule = rule

    async def process(self, deliveries: Sequence[Delivery]) -> BatchOutcome:
        """Apply a batch's fresh events in one transaction: projection, cancellations, new steps, records."""
        now = self._clock.now()
        rejected: dict[UUID, str] = {}
        admitted: list[Delivery] = []
        for delivery in deliveries:
            reason = rejection(delivery.event, received_at(delivery.timestamp_ms, now), self._rule)
            if reason is None:
                admitted.append(delivery)
            else:
                rejected[delivery.event.event_id] = reason
        async with self._outbox.transaction() as tx:
            conn = tx.connection
            claim = await claim_fresh(conn, admitted)
            plan = plan_batch(claim.fresh)
            projected = plan.contacts()
            await contacts.upsert_contacts(conn, projected, now=now)
            await contacts.mark_active(conn, active_at=plan.active_at, now=now)
            seen_versions, in_force = await contacts.seen_decisions_for_update(conn, customer_ids=plan.decisions)
            current = decisions_to_plan(plan.decisions, seen_versions)
            replaced, continued, plans = plans_after(current, in_force, self._playbooks)

            withdrawn = {c.customer_id for c in projected if withdraws_marketing_consent(c)}
            affected = set(current) | set(plan.active_at) | withdrawn
            known = await contacts.load_contacts(conn, affected)
            active = await steps.active_steps_for_update(conn, affected)
            cancelled = cancel_steps(
                active,
                new_decisions=replaced,
                active_at=plan.active_at,
                withdrawn=withdrawn,
                contacts=known,
                now=now,
            )
            gone = {change.step_id for change in cancelled.changes}
            held_back = pending_suppressions([s for s in active if s.step_id not in gone], continued, now=now)
            await steps.update_steps(conn, cancelled.changes + held_back.changes)
            await tasks.cancel_open_tasks(conn, customer_ids=replaced, now=now)
            planned = [p for d in replaced.values() for p in plan_steps(d, self._playbooks, now=now)]
            # A recurring occurrence cancelled for a reason that keeps its series (a withdrawn consent) hands on.
            successors = [following(r.step, r.reason, now=now) for r in cancelled.records]
            planned += await self._catalogue_offers(conn, replaced, active, now)
            await steps.insert_steps(conn, planned + [s for s in successors if s is not None], now=now)
            held_out = holdout_suppressions(planned, replaced, now=now)
            await steps.update_steps(conn, held_out.changes)
            await contacts.remember_decisions(conn, current=list(current.values()), plans=plans, now=now)
            satisfied = await apply_contacts(conn, plan.logged_contacts, now=now)
            logged = cancelled.records + held_back.records + held_out.records + satisfied
            await log_records(tx, logged, now, self._topics)
        report_fallbacks(current.values(), self._playbooks)  # after the commit: a retried batch counts once
        return BatchOutcome(duplicates=claim.duplicates, rejected=rejected, conflicts=claim.conflicts)

    async def _catalogue_offers(
        self, conn: AsyncConnection, replaced: Mapping[str, Decision], active: Sequence[StoredStep], now: datetime
    ) -> list[PlannedStep]:
        """The catalogue items each new plan of the catalogue's flow offers: those its customer was not offered
        (the log read after the steps were locked, so an offer being settled counts once, either way)."""
        catalogue = self._playbooks.catalogue
        if catalogue is None:
            return []
        customers = [cid for cid, d in replaced.items() if d.flow is catalogue.flow and d.active]
        log = await records.catalogue_sent(conn, customers, templates=catalogue.templates)
        return plan_all_offers({c: replaced[c] for c in customers}, catalogue, log, active, now=now)

    async def on_assigned(self) -> None:
        """Publish what an earlier run committed but did not publish."""
        await self._outbox.recover()
