"""What closing an asking task with a reason plans: the reason's branch, and the ladder steps it replaces. Pure.

A step that `asks_reason` (domain/playbooks.py) lists, per reason code, the steps to plan from the
moment its task is closed, and the steps of its own playbook that a recorded reason `replaces`. The
branch's steps belong to the decision that planned the asking step, like any step of its plan: a
route change cancels them, the runner's `superseded` check applies, and governance decides each one
when it is due. Their ids are derived like every step's, from the decision and a name that says
where they come from (`day7_call.app_too_hard.teaching_invitation`), so closing the task again, or
a retried transaction, plans the same ids, which the store keeps once. A customer in the global
holdout gets the branch's marketing steps recorded `suppressed` / `holdout`, as at planning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from tierflow_notification.domain.cancellation import Cancellations
from tierflow_notification.domain.holdout import suppress_marketing
from tierflow_notification.domain.outreach import PlannedStep, step_id
from tierflow_notification.domain.playbooks import ReasonPrompt
from tierflow_notification.domain.reasons import ReasonCode
from tierflow_notification.domain.steps import StepStatus, StoredStep

REPLACED_BY_REASON: Final = "replaced_by_reason"


def branch_step_name(asking: str, reason: ReasonCode, name: str) -> str:
    """The stored name of a branch step: the asking step, the reason, the branch step's own name."""
    return f"{asking}.{reason.value}.{name}"


@dataclass(frozen=True, slots=True)
class BranchPlan:
    """The steps a reason plans, and the cancellations (replaced ladder steps, holdout) with their records."""

    planned: list[PlannedStep] = field(default_factory=list)
    cancelled: Cancellations = field(default_factory=Cancellations)


def plan_branch(
    asking: StoredStep,
    prompt: ReasonPrompt,
    reason: ReasonCode,
    *,
    active: Iterable[StoredStep],
    holdout: bool,
    now: datetime,
) -> BranchPlan:
    """The branch of `reason` after the asking step's task was closed, and the pending steps of the same plan it
    replaces (cancelled `replaced_by_reason`; a step being delivered is left to its delivery)."""
    planned = [
        PlannedStep(
            step_id=step_id(asking.decision_id, branch_step_name(asking.name, reason, step.name)),
            customer_id=asking.customer_id,
            decision_id=asking.decision_id,
            flow=asking.flow,
            name=branch_step_name(asking.name, reason, step.name),
            template=step.template,
            channels=step.channels,
            message_class=step.message_class,
            stop_when_active=step.stop_when_active,
            advisor_id=asking.advisor_id,
            priority=asking.priority,
            task_due_days=step.task_due_days,
            planned_at=now,
            due_at=now + step.after,
            tier=asking.tier,
        )
        for step in prompt.branches[reason]
        if asking.priority in step.priorities
    ]
    cancelled = suppress_marketing(planned, now=now) if holdout else Cancellations()
    for step in active:
        if (
            step.decision_id == asking.decision_id
            and step.status is StepStatus.PENDING
            and step.name in prompt.replaces
        ):
            cancelled.add(step, REPLACED_BY_REASON, now)
    return BranchPlan(planned, cancelled)
