"""An advisor task on the workbench (or the outreach team's queue) and its statuses. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from tierflow_common.events.outputs import Priority, Tier
from tierflow_notification.domain.reasons import ReasonCode, TaskOutcome, TaskReport


class TaskStatus(StrEnum):
    """Open until an advisor closes it (done) or a route change cancels it."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


# Who closed the open tasks a new decision cancels.
CLOSED_BY_ROUTE_CHANGE = "route_changed"


@dataclass(frozen=True, slots=True)
class AdvisorTask:
    """A row of `advisor_tasks`; `task_id` is the notification id of the step that created it."""

    task_id: UUID
    advisor_id: str | None  # None: the outreach team's queue
    customer_id: str
    decision_id: UUID
    template: str
    priority: Priority
    due_at: datetime
    status: TaskStatus
    created_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    evidence_event_id: UUID | None = None  # the contact.logged that satisfied it (domain/satisfaction.py)
    outcome: TaskOutcome | None = None  # what the closer reported (domain/reasons.py)
    reason: ReasonCode | None = None  # why the customer left, when the task asked (or the closer said)
    tier: Tier | None = None  # the customer's tier when the task was planned (None: created before 0008)

    @property
    def report(self) -> TaskReport | None:
        """The closing report, once the task is done."""
        return None if self.outcome is None else TaskReport(self.outcome, self.reason)
