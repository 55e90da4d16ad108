"""From a routing decision to the outreach steps its playbook plans, and the ids that chain them. Pure.

The idempotency chain: event id -> decision id -> step id (decision id + step name, + the occurrence's
number for a recurring step after its first) -> notification id (step id + what happened). A
redelivered decision plans the same step ids, which the store keeps once; a step is sent under one
notification id however often it is retried; an occurrence is planned under the same id however
often the settle that plans it runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from tierflow_common.events.ids import derived_id
from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, Priority, Tier
from tierflow_notification.domain.durations import parse_duration
from tierflow_notification.domain.playbooks import PlaybookSet, Step
from tierflow_notification.domain.recurrence import (
    ends_series,
    next_open_occurrence,
    occurrence_start,
    series_start,
    window_days,
)
from tierflow_notification.domain.steps import StepStatus, StoredStep


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
    tier: Tier | None = None  # the customer's tier the decision was made for (coverage by tier: domain/coverage.py)


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
    # A recurring step's occurrence (domain/recurrence.py): its series' period, start and number.
    every: str | None = None
    series_start: datetime | None = None
    occurrence: int = 0
    satisfied_by_contact: bool = False
    window: str | None = None
    tier: Tier | None = None  # the decision's tier, carried to the task (None: planned before 0008)
    outbound_call: bool = False  # counts against its tier's calls a day (domain/calls.py)

    def stored(
        self, status: StepStatus, *, attempts: int = 0, channel: NotificationChannel | None = None
    ) -> StoredStep:
        """This step as the store keeps it, first due when it is due, with how far its delivery got."""
        return StoredStep(
            **{name: getattr(self, name) for name in _PLANNED_FIELDS},
            first_due_at=self.due_at,
            status=status,
            attempts=attempts,
            channel=channel,
        )

    @classmethod
    def of(cls, step: StoredStep, **changes: Any) -> PlannedStep:
        """A stored step's plan (every field a plan has), with `changes`: the start of another occurrence."""
        return cls(**({name: getattr(step, name) for name in _PLANNED_FIELDS} | changes))


_PLANNED_FIELDS = tuple(f.name for f in fields(PlannedStep))  # each is a StoredStep field too


def decisions_to_plan(newest: Mapping[str, Decision], seen_versions: Mapping[str, int]) -> dict[str, Decision]:
    """The customers' newest decisions that are newer than any seen before; older ones plan nothing."""
    return {cid: d for cid, d in newest.items() if d.version > seen_versions.get(cid, 0)}


def step_id(decision_id: UUID, name: str, occurrence: int = 0) -> UUID:
    """The id of a decision's step (of its occurrence, for a recurring one): the same for a redelivered decision,
    a restarted runner, a retried settle. Occurrence 0 keeps the id a one-off step has."""
    if occurrence == 0:
        return derived_id("step", decision_id, name)
    return derived_id("step", decision_id, name, occurrence)


def sent_id(step: UUID) -> UUID:
    """The notification id a step is delivered under: the providers' idempotency key."""
    return derived_id("notification", step, "sent")


def outcome_id(step: UUID, status: str, attempt: int, reason: str) -> UUID:
    """The notification id of a record that is not the delivery (deferral, suppression, failure)."""
    return derived_id("notification", step, status, attempt, reason)


def _planned(decision: Decision, step: Step, now: datetime) -> PlannedStep:
    begins = now + step.after
    every, window = step.period, step.task_window
    start = None if every is None else series_start(begins, every, decision.customer_id, step.name)
    return PlannedStep(
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
        task_due_days=step.task_due_days if start is None or window is None else window_days(start, window),
        planned_at=now,
        due_at=begins if start is None else start,
        every=step.every,
        series_start=start,
        satisfied_by_contact=step.satisfied_by_contact,
        window=step.window,
        tier=decision.tier,
        outbound_call=step.outbound_call,
    )


def plan_steps(decision: Decision, playbooks: PlaybookSet, *, now: datetime) -> list[PlannedStep]:
    """The steps of the playbook the decision plays (its arm's variant, else its flow's); none for a closed
    account (inactive decision). A recurring step plans its first occurrence, spread within its period."""
    if not decision.active:
        return []
    return [
        _planned(decision, step, now)
        for step in playbooks.choose(decision.flow, decision.priority, decision.playbook).steps
    ]


def next_occurrence(step: StoredStep, *, now: datetime) -> PlannedStep | None:
    """The occurrence after a stored one of a recurring series (None: a one-off step), the first whose period has
    not ended by `now`. Its id comes from the decision, the name and its number, so planning it twice (a retried
    settle, two runners) stores it once."""
    if step.every is None or step.series_start is None:
        return None
    every = parse_duration(step.every)
    occurrence = next_open_occurrence(step.series_start, every, step.occurrence, now)
    opens = occurrence_start(step.series_start, every, occurrence)
    window = every if step.window is None else parse_duration(step.window)
    return PlannedStep.of(
        step,
        step_id=step_id(step.decision_id, step.name, occurrence),
        task_due_days=window_days(opens, window),
        planned_at=now,
        due_at=opens,
        occurrence=occurrence,
    )


def series_until(first: PlannedStep, end: datetime) -> Iterator[PlannedStep]:
    """A step's occurrences due before `end`, each planned when the one before is sent, as the runner plans them
    (just `first` for a one-off step): the year of a programme in the tests and `tierflow bench recurring`."""
    occurrence: PlannedStep | None = first
    while occurrence is not None and occurrence.due_at < end:
        yield occurrence
        sent = occurrence.stored(StepStatus.DONE, attempts=1, channel=occurrence.channels[0])
        occurrence = next_occurrence(sent, now=occurrence.due_at)


def following(step: StoredStep, reason: str, *, now: datetime) -> PlannedStep | None:
    """The next occurrence to plan when an occurrence stops for `reason` (sent, suppressed, given up, satisfied,
    cancelled); None for a one-off step or a reason that ends the series (a new route, a return, a closed
    account, the holdout: domain/recurrence.py)."""
    return None if ends_series(reason) else next_occurrence(step, now=now)
