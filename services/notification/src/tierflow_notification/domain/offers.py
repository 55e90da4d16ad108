"""A new decision of the catalogue's flow plans the catalogue items the customer was not offered yet. Pure.

The sequence and the cadence are domain/catalogue.py's; this turns them into planned steps of the
decision, so they are stored, governed, cancelled on a route change and held out like every other
step. A catalogue step is named `catalogue.<item>`, its id derived from the decision and that name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tierflow_common.events.outputs import MessageClass
from tierflow_notification.domain.catalogue import Catalogue, next_offers
from tierflow_notification.domain.outreach import Decision, PlannedStep, step_id
from tierflow_notification.domain.steps import StepStatus, StoredStep


@dataclass(frozen=True, slots=True)
class Offered:
    """What a customer was offered from the catalogue: the templates, and when the last one went out."""

    templates: frozenset[str] = frozenset()
    last_at: datetime | None = None


@dataclass(slots=True)
class OfferLog:
    """The catalogue messages sent to customers (from the notification log), by customer."""

    sent: dict[str, dict[str, datetime]] = field(default_factory=dict)  # customer -> template -> last sent

    def offered(self, customer_id: str, being_sent: Iterable[StoredStep] = ()) -> Offered:
        """A customer's offers: those sent, and those being delivered now (they cannot be recalled)."""
        sent = self.sent.get(customer_id, {})
        sending = {s.template for s in being_sent if s.customer_id == customer_id and s.status is StepStatus.SENDING}
        return Offered(frozenset(sent) | frozenset(sending), max(sent.values(), default=None))


def catalogue_step_name(item: str) -> str:
    """The stored name of a catalogue step (the dot keeps it apart from any playbook step's name)."""
    return f"catalogue.{item}"


def plan_offers(
    decision: Decision, catalogue: Catalogue | None, offered: Offered, *, now: datetime
) -> list[PlannedStep]:
    """The catalogue steps of an active decision of the catalogue's flow: the items not offered yet, in order."""
    if catalogue is None or not decision.active or decision.flow is not catalogue.flow:
        return []
    return [
        PlannedStep(
            step_id=step_id(decision.decision_id, catalogue_step_name(offer.item.name)),
            customer_id=decision.customer_id,
            decision_id=decision.decision_id,
            flow=decision.flow,
            name=catalogue_step_name(offer.item.name),
            template=offer.item.template,
            channels=offer.item.channels,
            message_class=MessageClass.MARKETING,
            stop_when_active=False,
            advisor_id=decision.advisor_id,
            priority=decision.priority,
            task_due_days=0,
            planned_at=now,
            due_at=offer.due_at,
            tier=decision.tier,
        )
        for offer in next_offers(catalogue, offered=offered.templates, last_offered_at=offered.last_at, now=now)
    ]


def plan_all_offers(
    decisions: Mapping[str, Decision],
    catalogue: Catalogue | None,
    log: OfferLog,
    active: Iterable[StoredStep],
    *,
    now: datetime,
) -> list[PlannedStep]:
    """The catalogue steps of every new plan in a batch."""
    steps = list(active)
    return [
        planned
        for decision in decisions.values()
        for planned in plan_offers(decision, catalogue, log.offered(decision.customer_id, steps), now=now)
    ]
