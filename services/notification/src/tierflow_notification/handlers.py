"""How each input event type the service consumes folds into the plan of its batch.

`HANDLERS` maps every event class on the subscribed topics (routing, customer, trade, login, contact) to
the function that handles one event of that type; the batch processor (service.py) folds a
batch's fresh events through it, in batch order, then applies the plan in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tierflow_common.events import CustomerUpdated, RoutingDecided
from tierflow_common.events.envelope import ContactLogged, Envelope, LoginFailed, LoginSucceeded, TradeExecuted
from tierflow_common.events.outputs import HOLDOUT_ARM
from tierflow_notification.domain.governance import Contact
from tierflow_notification.domain.outreach import Decision
from tierflow_notification.domain.satisfaction import LoggedContact


@dataclass(slots=True)
class BatchPlan:
    """What a batch of fresh events asks of the store, per customer."""

    customers: dict[str, CustomerUpdated] = field(default_factory=dict)  # the newest customer event
    active_at: dict[str, datetime] = field(default_factory=dict)  # the latest trade or login
    decisions: dict[str, Decision] = field(default_factory=dict)  # the decision with the highest version
    logged_contacts: list[LoggedContact] = field(default_factory=list)  # contacts that may satisfy a task

    def contacts(self) -> list[Contact]:
        """The consent/timezone projection of the newest customer events, by customer id."""
        return [
            Contact(
                customer_id=cid,
                consents=event.payload.consents.model_dump(),
                consents_as_of=event.occurred_at,
                timezone=event.payload.timezone,
                closed=event.payload.closed,
            )
            for cid, event in sorted(self.customers.items())
        ]


def decision_of(event: RoutingDecided) -> Decision:
    """What the notification service reads from a routing decision."""
    payload = event.payload
    return Decision(
        customer_id=event.customer_id,
        decision_id=payload.decision_id,
        version=payload.version,
        flow=payload.flow,
        priority=payload.priority,
        advisor_id=payload.advisor_id,
        active=payload.active,
        holdout=payload.experiment is not None and payload.experiment.arm == HOLDOUT_ARM,
        playbook=None if payload.experiment is None else payload.experiment.playbook,
        tier=payload.tier,
    )


def handle_customer_updated(plan: BatchPlan, event: CustomerUpdated) -> None:
    """Customer master data: the newest event per customer wins (the later one on a tie)."""
    held = plan.customers.get(event.customer_id)
    if held is None or event.occurred_at >= held.occurred_at:
        plan.customers[event.customer_id] = event


def handle_activity(plan: BatchPlan, event: TradeExecuted | LoginSucceeded) -> None:
    """A trade or a login: the customer is active; the latest time per customer counts."""
    held = plan.active_at.get(event.customer_id)
    plan.active_at[event.customer_id] = event.occurred_at if held is None else max(held, event.occurred_at)


def handle_login_failed(plan: BatchPlan, event: LoginFailed) -> None:
    """A failed login is not a return: nothing to do."""


def handle_routing_decided(plan: BatchPlan, event: RoutingDecided) -> None:
    """A routing decision: the one with the highest version per customer plans (the first on a tie)."""
    decision = decision_of(event)
    held = plan.decisions.get(decision.customer_id)
    if held is None or decision.version > held.version:
        plan.decisions[decision.customer_id] = decision


def handle_contact_logged(plan: BatchPlan, event: ContactLogged) -> None:
    """A logged contact by an advisor: it may satisfy that period's recurring contact or review task."""
    payload = event.payload
    if payload.advisor_id is None:
        return  # no advisor named: evidence of no advisor's promise
    plan.logged_contacts.append(
        LoggedContact(
            event_id=event.event_id,
            customer_id=event.customer_id,
            advisor_id=payload.advisor_id,
            occurred_at=event.occurred_at,
            outcome=payload.outcome.value,
        )
    )


HANDLERS: dict[type[Envelope], Callable[[BatchPlan, Any], None]] = {
    CustomerUpdated: handle_customer_updated,
    TradeExecuted: handle_activity,
    LoginSucceeded: handle_activity,
    LoginFailed: handle_login_failed,
    RoutingDecided: handle_routing_decided,
    ContactLogged: handle_contact_logged,
}


def plan_batch(events: Iterable[Envelope]) -> BatchPlan:
    """Fold a batch's fresh events, in batch order, into one plan."""
    plan = BatchPlan()
    for event in events:
        HANDLERS[type(event)](plan, event)
    return plan
