"""The global holdout: a decision in the routing policy's holdout gets no marketing outreach. Pure.

Routing puts a share of all customers in a persistent control group (docs/experiments.md) and says
so on the decision (`experiment.arm == "holdout"`). Its playbook is planned as for anyone else, so
the log shows what the holdout did not receive: every marketing step is cancelled at once and
recorded `suppressed` with reason `holdout`. Service steps (advisor introductions, retention tasks:
`message_class: service` in the playbooks) are not marketing and go out as usual. A customer who
joins the holdout with the same flow keeps the playbook in force (domain/continuation.py), and its
pending marketing steps are suppressed the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from tierflow_common.events.outputs import MessageClass
from tierflow_notification.domain.cancellation import Cancellations
from tierflow_notification.domain.outreach import Decision, PlannedStep
from tierflow_notification.domain.steps import StepStatus, StoredStep

HOLDOUT: Final = "holdout"


def held_out(step: PlannedStep, decision: Decision) -> bool:
    """A marketing step of a decision in the global holdout."""
    return decision.holdout and step.message_class is MessageClass.MARKETING


def holdout_suppressions(
    planned: Iterable[PlannedStep], decisions: Mapping[str, Decision], *, now: datetime
) -> Cancellations:
    """The changes (cancelled, `holdout`) and `suppressed` records of the planned marketing steps of holdout
    decisions, by customer."""
    suppressed = Cancellations()
    for step in planned:
        decision = decisions.get(step.customer_id)
        if decision is None or not held_out(step, decision):
            continue
        suppressed.add(step.stored(StepStatus.CANCELLED), HOLDOUT, now)
    return suppressed


def suppress_marketing(planned: Iterable[PlannedStep], *, now: datetime) -> Cancellations:
    """The planned marketing steps of a customer in the holdout (a reason's branch, domain/branching.py): cancelled,
    `holdout`, recorded `suppressed`."""
    suppressed = Cancellations()
    for step in planned:
        if step.message_class is MessageClass.MARKETING:
            suppressed.add(step.stored(StepStatus.CANCELLED), HOLDOUT, now)
    return suppressed


def pending_suppressions(
    active: Iterable[StoredStep], continued: Mapping[str, Decision], *, now: datetime
) -> Cancellations:
    """The pending marketing steps of customers whose new decision continues their playbook and puts them in
    the holdout (domain/continuation.py): cancelled, `holdout`, recorded `suppressed`. A step being
    delivered is left to its delivery, as every cancellation does."""
    suppressed = Cancellations()
    for step in active:
        decision = continued.get(step.customer_id)
        if decision is None or not decision.holdout or step.status is StepStatus.SENDING:
            continue
        if step.message_class is not MessageClass.MARKETING:
            continue
        suppressed.add(step, HOLDOUT, now)
    return suppressed
