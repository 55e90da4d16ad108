"""Which recurring task a logged contact satisfies. Pure.

A `contact.logged` (tierflow.contact.v1) that names an advisor and reached the customer (any outcome
but `no_answer`) is evidence that the advisor kept one promise of the period it happened in: it
satisfies one occurrence of the customer's recurring steps marked `satisfied_by_contact` (the monthly
contact, the quarterly review) that

- is addressed to that advisor,
- has a period containing the contact's time (`occurred_at`): from its opening to the next
  occurrence's, so a late contact still closes an overdue task of its own period but never the
  next one, and a contact before the first occurrence opens satisfies nothing,
- is still owed: its task is open, or it is due and not yet handed to the workbench (pending).

One contact is evidence for one promise: when several are owed it satisfies the most frequent one
(a call is a 1:1 contact before it is a quarterly review), then the one due first, then by step
name. Another contact in the same period satisfies the next one owed. An occurrence being
handed to the workbench at that moment (`sending`) is left alone: its task opens and is closed
by hand.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from tierflow_common.events.outputs import NotificationStatus
from tierflow_notification.domain.durations import parse_duration
from tierflow_notification.domain.outreach import outcome_id, sent_id
from tierflow_notification.domain.records import NotificationRecord
from tierflow_notification.domain.recurrence import occurrence_start
from tierflow_notification.domain.steps import StepChange, StepStatus, StoredStep
from tierflow_notification.domain.tasks import AdvisorTask, TaskStatus

SATISFIED_BY_CONTACT: Final = "satisfied_by_contact"  # the step's reason and the task's closer
NOT_REACHED: Final = frozenset({"no_answer"})  # contact outcomes that are not a kept promise


@dataclass(frozen=True, slots=True)
class LoggedContact:
    """A contact.logged the notification service reads: who, by which advisor, when, and its event id."""

    event_id: UUID
    customer_id: str
    advisor_id: str | None
    occurred_at: datetime
    outcome: str


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """A contact satisfying one occurrence: its task is open (close it) or not opened yet (the step is pending)."""

    contact: LoggedContact
    step: StoredStep
    task_open: bool

    @property
    def task_id(self) -> UUID:
        """The occurrence's task id (the id its delivery opens it under)."""
        return sent_id(self.step.step_id)

    @property
    def task_due_at(self) -> datetime:
        """When the occurrence's task is due: its window from its opening."""
        return self.step.first_due_at + timedelta(days=self.step.task_due_days)


def counts(contact: LoggedContact) -> bool:
    """Whether a contact can satisfy a task at all: it names an advisor and reached the customer."""
    return contact.advisor_id is not None and contact.outcome not in NOT_REACHED


def period_contains(step: StoredStep, moment: datetime) -> bool:
    """Whether `moment` falls in the period of a recurring occurrence (from its opening to the next one's)."""
    if step.every is None or step.series_start is None:
        return False
    every = parse_duration(step.every)
    opens = occurrence_start(step.series_start, every, step.occurrence)
    return opens <= moment < occurrence_start(step.series_start, every, step.occurrence + 1)


def _owed(step: StoredStep, open_tasks: Collection[UUID]) -> bool | None:
    """True: its task is open; False: due and not handed over yet; None: nothing is owed."""
    if step.status is StepStatus.DONE and sent_id(step.step_id) in open_tasks:
        return True
    if step.status is StepStatus.PENDING:
        return False
    return None


def _precedence(step: StoredStep) -> tuple[float, datetime, str]:
    """The most frequent promise first (a call is a 1:1 contact before it is a review), then the one due first."""
    every = 0.0 if step.every is None else parse_duration(step.every).nominal_days
    return every, step.first_due_at + timedelta(days=step.task_due_days), step.name


def satisfy(
    contacts: Iterable[LoggedContact], steps: Iterable[StoredStep], open_tasks: Collection[UUID]
) -> list[Satisfaction]:
    """For each contact (in time order) the owed occurrence it satisfies, if any; each occurrence once."""
    candidates = [s for s in steps if s.satisfied_by_contact]
    used: set[UUID] = set()
    satisfied: list[Satisfaction] = []
    for contact in sorted(contacts, key=lambda c: (c.occurred_at, str(c.event_id))):
        if not counts(contact):
            continue
        owed = [
            (step, state)
            for step in candidates
            if step.step_id not in used
            and step.customer_id == contact.customer_id
            and step.advisor_id == contact.advisor_id
            and period_contains(step, contact.occurred_at)
            and (state := _owed(step, open_tasks)) is not None
        ]
        if not owed:
            continue
        step, task_open = min(owed, key=lambda pair: _precedence(pair[0]))
        used.add(step.step_id)
        satisfied.append(Satisfaction(contact, step, task_open))
    return satisfied


def settle_pending(satisfied: Satisfaction, now: datetime) -> tuple[StepChange, NotificationRecord, AdvisorTask]:
    """A pending occurrence a contact satisfied before its task was opened: the step is done, recorded
    `suppressed` / `satisfied_by_contact`, and its task is stored already closed, with the contact as evidence
    (under the id its delivery would have used, so nothing can open it again)."""
    step, contact = satisfied.step, satisfied.contact
    change = StepChange(step.step_id, now, status=StepStatus.DONE, last_reason=SATISFIED_BY_CONTACT)
    record = NotificationRecord(
        outcome_id(step.step_id, "suppressed", step.attempts, SATISFIED_BY_CONTACT),
        step,
        step.channels[0],
        NotificationStatus.SUPPRESSED,
        SATISFIED_BY_CONTACT,  # the contact itself is the task's evidence (the log's evidence is consent's)
    )
    task = AdvisorTask(
        task_id=satisfied.task_id,
        advisor_id=step.advisor_id,
        customer_id=step.customer_id,
        decision_id=step.decision_id,
        template=step.template,
        priority=step.priority,
        due_at=satisfied.task_due_at,
        status=TaskStatus.DONE,
        created_at=now,
        closed_at=contact.occurred_at,
        closed_by=SATISFIED_BY_CONTACT,
        evidence_event_id=contact.event_id,
        tier=step.tier,
    )
    return change, record, task
