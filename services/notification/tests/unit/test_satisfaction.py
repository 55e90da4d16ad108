"""A logged contact satisfies the period's recurring contact or review task: which one, and what it leaves. Pure."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from tierflow_common.events.outputs import NotificationStatus
from tierflow_notification.domain.outreach import PlannedStep, plan_steps, sent_id
from tierflow_notification.domain.satisfaction import LoggedContact, satisfy, settle_pending
from tierflow_notification.domain.steps import StepStatus, StoredStep
from tierflow_notification.domain.tasks import TaskStatus
from tierflow_notification.handlers import plan_batch
from tierflow_testing import builders as b

from .test_recurrence import DEFAULT, NOW, decision, stored


def programme() -> dict[str, PlannedStep]:
    return {p.name: p for p in plan_steps(decision(), DEFAULT, now=NOW) if p.every}


def contact(
    at: datetime, *, advisor: str | None = "ADV1", outcome: str = "reached", customer: str = "A1"
) -> LoggedContact:
    return LoggedContact(uuid.uuid4(), customer, advisor, at, outcome)


def opened(step: PlannedStep) -> tuple[StoredStep, set[uuid.UUID]]:
    """An occurrence whose task was opened (the step is done, its task open)."""
    done = stored(step, StepStatus.DONE)
    return done, {sent_id(done.step_id)}


def test_a_contact_by_the_advisor_in_the_period_closes_the_open_task() -> None:
    monthly, tasks = opened(programme()["monthly_contact"])
    logged = contact(monthly.first_due_at + timedelta(days=3))
    [satisfied] = satisfy([logged], [monthly], tasks)
    assert (satisfied.step, satisfied.task_open, satisfied.task_id) == (monthly, True, sent_id(monthly.step_id))


def test_no_answer_another_advisor_no_advisor_or_another_period_satisfy_nothing() -> None:
    monthly, tasks = opened(programme()["monthly_contact"])
    inside = monthly.first_due_at + timedelta(days=3)
    for logged in (
        contact(inside, outcome="no_answer"),
        contact(inside, advisor="ADV2"),
        contact(inside, advisor=None),
        contact(inside, customer="A2"),
        contact(monthly.first_due_at - timedelta(minutes=1)),  # before the series opened
        contact(monthly.first_due_at + timedelta(days=31)),  # the next month: its own occurrence's
    ):
        assert satisfy([logged], [monthly], tasks) == []
    assert satisfy([contact(inside)], [monthly], set()) == []  # its task was closed already


def test_a_late_contact_still_closes_the_overdue_task_of_its_own_period() -> None:
    review, tasks = opened(programme()["quarterly_review"])  # due within a month, its period is a quarter
    [satisfied] = satisfy([contact(review.first_due_at + timedelta(days=45))], [review], tasks)
    assert satisfied.task_open


def test_one_contact_keeps_one_promise_the_one_due_first_and_a_second_contact_the_next() -> None:
    planned = programme()
    start = max(planned["monthly_contact"].due_at, planned["quarterly_review"].due_at)
    # Both occurrences open at `start` and are due a month later: the name breaks the tie.
    monthly, t1 = opened(replace(planned["monthly_contact"], due_at=start, series_start=start))
    review, t2 = opened(replace(planned["quarterly_review"], due_at=start, series_start=start))
    first, second = contact(start + timedelta(days=1)), contact(start + timedelta(days=2))
    assert [s.step.name for s in satisfy([first], [monthly, review], t1 | t2)] == ["monthly_contact"]
    both = satisfy([second, first], [monthly, review], t1 | t2)
    assert [(s.contact, s.step.name) for s in both] == [(first, "monthly_contact"), (second, "quarterly_review")]


def test_a_due_occurrence_not_yet_on_the_workbench_is_settled_with_a_closed_task_as_evidence() -> None:
    monthly = stored(programme()["monthly_contact"], StepStatus.PENDING)
    logged = contact(monthly.first_due_at + timedelta(hours=1))
    [satisfied] = satisfy([logged], [monthly], set())
    assert not satisfied.task_open
    change, record, task = settle_pending(satisfied, logged.occurred_at)
    assert (change.status, change.last_reason) == (StepStatus.DONE, "satisfied_by_contact")
    assert (record.status, record.reason) == (NotificationStatus.SUPPRESSED, "satisfied_by_contact")
    assert (task.task_id, task.status) == (sent_id(monthly.step_id), TaskStatus.DONE)
    assert task.evidence_event_id == logged.event_id
    assert task.closed_at == logged.occurred_at and task.due_at == satisfied.task_due_at
    # A pending occurrence whose period has not begun is not satisfied ahead of time.
    assert satisfy([contact(monthly.first_due_at - timedelta(hours=1))], [monthly], set()) == []


def test_visits_and_planning_are_not_satisfied_by_a_call_and_sending_ones_are_left_alone() -> None:
    planned = programme()
    visit, tasks = opened(planned["visit"])
    assert satisfy([contact(visit.first_due_at + timedelta(days=1))], [visit], tasks) == []
    sending = stored(planned["monthly_contact"], StepStatus.SENDING)
    assert satisfy([contact(sending.first_due_at + timedelta(days=1))], [sending], set()) == []


def test_the_contact_handler_keeps_contacts_that_name_an_advisor() -> None:
    named = b.contact("A1", NOW)
    named = named.model_copy(update={"payload": named.payload.model_copy(update={"advisor_id": "ADV1"})})
    plan = plan_batch([named, b.contact("A2", NOW)])
    assert [(c.customer_id, c.advisor_id, c.event_id, c.outcome) for c in plan.logged_contacts] == [
        ("A1", "ADV1", named.event_id, "resolved")
    ]
