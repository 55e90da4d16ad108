"""A stored outreach step, the statuses it moves through, and the typed changes made to it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, Priority, Tier
from tierflow_notification.domain.governance import DueStep


class StepStatus(StrEnum):
    """Where a step is: waiting for its time, being delivered (under a lease), or finished."""

    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


# The statuses of a step that may still go out (the `steps_due` and `steps_customer` indexes).
ACTIVE_STATUSES = (StepStatus.PENDING, StepStatus.SENDING)


@dataclass(frozen=True, slots=True)
class StoredStep:
    """A row of the `steps` table: a planned step and how far its delivery got."""

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
    first_due_at: datetime
    due_at: datetime
    status: StepStatus
    attempts: int
    channel: NotificationChannel | None
    # A recurring step's occurrence (domain/recurrence.py); None / 0 / False for a one-off step.
    every: str | None = None
    series_start: datetime | None = None
    occurrence: int = 0
    satisfied_by_contact: bool = False
    window: str | None = None
    tier: Tier | None = None  # the deciding decision's tier (None: planned before 0008)
    outbound_call: bool = False  # counts against its tier's calls a day (domain/calls.py)


@dataclass(frozen=True, slots=True)
class StepChange:
    """A change to one stored step: every field given (not None) is set, and `updated_at`."""

    step_id: UUID
    updated_at: datetime
    status: StepStatus | None = None
    channel: NotificationChannel | None = None
    attempts: int | None = None
    due_at: datetime | None = None
    last_reason: str | None = None


def due_view(step: StoredStep) -> DueStep:
    """What governance needs to know about a stored step."""
    return DueStep(
        channels=step.channels,
        message_class=step.message_class,
        stop_when_active=step.stop_when_active,
        planned_at=step.planned_at,
        first_due_at=step.first_due_at,
    )
