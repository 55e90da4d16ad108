"""From a routing decision to the outreach steps its playbook plans, and the ids that chain them. Pure.

The idempotency chain: event id -> decision id -> step id (decision id + step name) -> notification
id (step id + what happened). A redelivered decision plans the same step ids, which the store
keeps once; a step is sent under one notification id however often it is retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tierflow_common.events.ids import derived_id
from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, Priority
from tierflow_notification.domain.playbooks import PlaybookSet


@dataclass(frozen=True, slots=True)
class Decision:
    """What the notification service reads from a routing decision."""

    customer_id: str
    decision_id: UUID
    version: int
    flow: Flow
    priority: Priority
    advisor_id: str | None
    active: bool
    holdout: bool = False  # in the routing policy's global holdout: no marketing outreach (domain/holdout.py)
    playbook: str | None = None  # the playbook variant its experiment arm asks for (PlaybookSet.choose)


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A step a decision's playbook plans, before it is stored."""

    step_id: UUID
    customer_id: str
    decision_id: UUID
    flow: Flow
    name: str
    template: str
    channels: tuple[NotificationChannel, ...]
    message_class: MessageClass
    stop_when_active: bool
    advisor_id: str | None
    priority: Priority
    task_due_days: float
    planned_at: datetime
    due_at: datetime


def decisions_to_plan(newest: Mapping[str, Decision], seen_versions: Mapping[str, int]) -> dict[str, Decision]:
    """The customers' newest decisions that are newer than any seen before; older ones plan nothing."""
    return {cid: d for cid, d in newest.items() if d.version > seen_versions.get(cid, 0)}


def step_id(decision_id: UUID, name: str) -> UUID:
    """The id of a decision's step: the same for a redelivered decision."""
    return derived_id("step", decision_id, name)


def sent_id(step: UUID) -> UUID:
    """The notification id a step is delivered under: the providers' idempotency key."""
    return derived_id("notification", step, "sent")


def outcome_id(step: UUID, status: str, attempt: int, reason: str) -> UUID:
    """The notification id of a record that is not the delivery (deferral, suppression, failure)."""
    return derived_id("notification", step, status, attempt, reason)


def plan_steps(decision: Decision, playbooks: PlaybookSet, *, now: datetime) -> list[PlannedStep]:
    """The steps of the playbook the decision plays (its arm's variant, else its flow's); none for a closed
    account (inactive decision)."""
    if not decision.active:
        return []
    return [
        PlannedStep(
            step_id=step_id(decision.decision_id, step.name),
            customer_id=decision.customer_id,
            decision_id=decision.decision_id,
            flow=decision.flow,
            name=step.name,
            template=step.template,
            channels=step.channels,
            message_class=step.message_class,
            stop_when_active=step.stop_when_active,
            advisor_id=decision.advisor_id,
            priority=decision.priority,
            task_due_days=step.task_due_days,
            planned_at=now,
            due_at=now + step.after,
        )
        for step in playbooks.choose(decision.flow, decision.priority, decision.playbook).steps
    ]
