"""When a pending step must not go out any more, and what cancelling it records. Pure.

The rules, in the order they are applied (docs/notification.md, "Durable steps" and "Governance"):
1. `route_changed`: a new decision (a version higher than any seen) replaces the customer's steps
   of earlier decisions.
2. `customer_returned`: a step that stops when the customer comes back was planned before the
   customer's latest trade or login in the batch.
3. `consent_withdrawn`: the customer's newest customer event withdraws a marketing consent (or
   closes the account), and the marketing step has no consented channel left.
A step being delivered (`sending`) is never cancelled here: its delivery is already under way and
cannot be recalled. It is not delivered again unchecked either: if the delivery fails and is retried,
or its lease lapses (the sender died), the step is due again and the step runner decides it anew:
`superseded` (rule 1 against the customer's newest decision) and governance, which covers the
closure, the return and the consent (domain/governance.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from uuid import UUID

from tierflow_common.events.outputs import MessageClass, NotificationStatus
from tierflow_notification.domain.governance import Contact, choose_channel
from tierflow_notification.domain.outreach import Decision, outcome_id
from tierflow_notification.domain.records import NotificationRecord
from tierflow_notification.domain.steps import StepChange, StepStatus, StoredStep, due_view

ROUTE_CHANGED: Final = "route_changed"
CUSTOMER_RETURNED: Final = "customer_returned"
CONSENT_WITHDRAWN: Final = "consent_withdrawn"

# The consent purposes of marketing messages (tierflow.customer.v1 consents).
MARKETING_CONSENTS: Final = ("marketing_push", "marketing_sms", "marketing_email", "marketing_phone")


@dataclass(frozen=True, slots=True)
class Cancellations:
    """The step changes and the notification records of the steps a batch cancels."""

    changes: list[StepChange] = field(default_factory=list)
    records: list[NotificationRecord] = field(default_factory=list)

    def add(self, step: StoredStep, reason: str, now: datetime) -> None:
        """Cancel `step` for `reason`, recorded `suppressed` under an id derived from the step and the reason."""
        self.changes.append(StepChange(step.step_id, now, status=StepStatus.CANCELLED, last_reason=reason))
        self.records.append(
            NotificationRecord(
                outcome_id(step.step_id, "cancelled", step.attempts, reason),
                step,
                step.channel or step.channels[0],
                NotificationStatus.SUPPRESSED,
                reason,
            )
        )


def withdraws_marketing_consent(contact: Contact) -> bool:
    """Whether a customer's projection leaves some marketing consent off (or the account closed)."""
    return contact.closed or not all(contact.consents.get(purpose, False) for purpose in MARKETING_CONSENTS)


def route_changed(step: StoredStep, new_decision: Decision | None) -> bool:
    """A newer decision for the customer replaces the steps of the decision that planned this one."""
    return new_decision is not None and step.decision_id != new_decision.decision_id


def superseded(step: StoredStep, current_decision_id: UUID | None) -> bool:
    """The customer's newest decision is not the one that planned this step (checked when it comes due)."""
    return current_decision_id is not None and step.decision_id != current_decision_id


def customer_returned(step: StoredStep, returned_at: datetime | None) -> bool:
    """The customer traded or logged in after a step that stops on return was planned."""
    return step.stop_when_active and returned_at is not None and returned_at > step.planned_at


def consent_withdrawn(step: StoredStep, contact: Contact | None) -> bool:
    """A marketing step has no consented channel left."""
    return step.message_class is MessageClass.MARKETING and choose_channel(due_view(step), contact) is None


def cancellation_reason(
    step: StoredStep,
    *,
    new_decision: Decision | None,
    returned_at: datetime | None,
    withdrew_consent: bool,
    contact: Contact | None,
) -> str | None:
    """Why an active step is cancelled now (the first rule that applies), or None to keep it."""
    if step.status is StepStatus.SENDING:
        return None  # already being delivered
    if route_changed(step, new_decision):
        return ROUTE_CHANGED
    if customer_returned(step, returned_at):
        return CUSTOMER_RETURNED
    if withdrew_consent and consent_withdrawn(step, contact):
        return CONSENT_WITHDRAWN
    return None


def cancel_steps(
    steps: Iterable[StoredStep],
    *,
    new_decisions: Mapping[str, Decision],
    active_at: Mapping[str, datetime],
    withdrawn: Collection[str],
    contacts: Mapping[str, Contact],
    now: datetime,
) -> Cancellations:
    """The changes and suppressed records for the active steps the rules cancel, by customer."""
    cancelled = Cancellations()
    for step in steps:
        customer = step.customer_id
        reason = cancellation_reason(
            step,
            new_decision=new_decisions.get(customer),
            returned_at=active_at.get(customer),
            withdrew_consent=customer in withdrawn,
            contact=contacts.get(customer),
        )
        if reason is not None:
            cancelled.add(step, reason, now)
    return cancelled
