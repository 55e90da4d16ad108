"""Closing a task that asks why the customer left: find what it asks, and plan the reason's branch.

Used by close_task (application/tasks.py) inside its transaction. Locks are taken in the batch
processor's order (the customer's `customer_decisions` row, then the steps, then the task), so a
route change arriving at the same moment waits for the close or the close waits for it, and neither
deadlocks the other. What a task asks is read from the playbook in force: the task's step (the step
of the task's decision delivered under the task's id) in the playbook its plan plays. A task whose
decision is no longer the customer's plan (its branch would be cancelled as superseded anyway), or
whose step the file no longer has, does not ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.clock import Clock
from tierflow_common.db.outbox import Outbox, OutboxTransaction
from tierflow_common.events import Topics
from tierflow_notification.adapters import contacts, steps
from tierflow_notification.domain.branching import plan_branch
from tierflow_notification.domain.outreach import sent_id
from tierflow_notification.domain.playbooks import PlaybookSet, ReasonPrompt
from tierflow_notification.domain.reasons import ReasonCode
from tierflow_notification.domain.steps import StoredStep
from tierflow_notification.domain.tasks import AdvisorTask
from tierflow_notification.notification_log import log_records


@dataclass(frozen=True, slots=True)
class Outreach:
    """What closing a task needs to plan a reason's branch: the playbooks, the log's outbox, the step timers' clock."""

    playbooks: PlaybookSet
    outbox: Outbox
    topics: Topics
    clock: Clock  # the steps' clock (accelerated in demos), not the wall clock the closer's time is taken from


@dataclass(frozen=True, slots=True)
class Asking:
    """An open task's step that asks for a reason, what its prompt plans, and the plan's other steps."""

    step: StoredStep
    prompt: ReasonPrompt
    holdout: bool
    plan_steps: list[StoredStep]


async def lock_customer(conn: AsyncConnection, customer_id: str) -> None:
    """Hold the customer's decision row first, in the batch processor's lock order."""
    await contacts.plan_in_force(conn, customer_id=customer_id, lock=True)


async def asking_step(conn: AsyncConnection, task: AdvisorTask, playbooks: PlaybookSet) -> Asking | None:
    """The task's step if it asks for a reason (locked with the plan's other steps), else None."""
    plan, holdout = await contacts.plan_in_force(conn, customer_id=task.customer_id)
    if plan is None or plan.decision_id != task.decision_id:
        return None
    planned = await steps.steps_of_decision(conn, customer_id=task.customer_id, decision_id=task.decision_id)
    step = next((s for s in planned if sent_id(s.step_id) == task.task_id), None)
    if step is None:
        return None
    definition = playbooks.step_named(step.flow, plan.playbook, step.name)
    if definition is None or definition.asks_reason is None:
        return None
    return Asking(step, definition.asks_reason, holdout, planned)


async def plan_reason(tx: OutboxTransaction, asking: Asking, reason: ReasonCode, outreach: Outreach) -> None:
    """Store the reason's branch (ids derived, kept once) and cancel the steps it replaces, with their records."""
    now: datetime = outreach.clock.now()
    branch = plan_branch(asking.step, asking.prompt, reason, active=asking.plan_steps, holdout=asking.holdout, now=now)
    await steps.insert_steps(tx.connection, branch.planned, now=now)
    await steps.update_steps(tx.connection, branch.cancelled.changes)
    await log_records(tx, branch.cancelled.records, now, outreach.topics)
