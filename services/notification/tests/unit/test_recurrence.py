"""Recurring steps: ISO 8601 durations, spreading, the occurrences of a series and their ids, validation. Pure."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, Priority
from tierflow_common.exceptions import ConfigurationError
from tierflow_notification.domain.durations import DurationError, add, add_months, parse_duration
from tierflow_notification.domain.outreach import (
    Decision,
    PlannedStep,
    following,
    next_occurrence,
    plan_steps,
    series_until,
    step_id,
)
from tierflow_notification.domain.playbooks import load_playbooks, parse_playbooks
from tierflow_notification.domain.recurrence import series_start, spread_fraction
from tierflow_notification.domain.steps import StepStatus, StoredStep

DEFAULT = load_playbooks(Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml")
NOW = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "months", "span"),
    [
        ("P1M", 1, timedelta(0)),
        ("P3M", 3, timedelta(0)),
        ("P1Y", 12, timedelta(0)),
        ("P1Y6M", 18, timedelta(0)),
        ("P2W", 0, timedelta(weeks=2)),
        ("P10D", 0, timedelta(days=10)),
        ("P1W3D", 0, timedelta(days=10)),
        ("P3DT12H", 0, timedelta(days=3, hours=12)),
        ("PT90M", 0, timedelta(minutes=90)),
    ],
)
def test_iso_8601_durations_are_read_with_months_apart(text: str, months: int, span: timedelta) -> None:
    duration = parse_duration(text)
    assert (duration.months, duration.span, str(duration)) == (months, span, text)


@pytest.mark.parametrize("text", ["", "P", "1M", "P-1D", "P1.5M", "PT", "P0D", "P1MT", "p1m", "P1D2W", "P1H"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


def test_months_are_calendar_months_clamped_without_drift() -> None:
    jan31 = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
    assert add_months(jan31, 1) == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
    assert add(jan31, parse_duration("P1M"), 2) == datetime(2027, 3, 31, 9, 30, tzinfo=UTC)  # not 28 March
    assert add_months(datetime(2028, 1, 31, tzinfo=UTC), 1) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add(jan31, parse_duration("P1Y"), 1) == datetime(2028, 1, 31, 9, 30, tzinfo=UTC)
    assert add(jan31, parse_duration("P1W"), 3) == jan31 + timedelta(weeks=3)
    assert add_months(datetime(2027, 11, 15, tzinfo=UTC), 14) == datetime(2029, 1, 15, tzinfo=UTC)


def test_spreading_puts_no_day_of_the_month_above_a_few_percent_for_500_customers_of_one_advisor() -> None:
    every = parse_duration("P1M")
    starts = [series_start(NOW, every, f"C{n:05d}", "monthly_contact") for n in range(500)]
    days = Counter(start.date() for start in starts)
    assert all(NOW <= start < add(NOW, every) for start in starts)
    assert len(days) == 31  # every day of January holds some
    assert max(days.values()) / 500 <= 0.05  # 1/31 = 3.2 % is the even share
    hours = Counter(start.replace(minute=0, second=0, microsecond=0) for start in starts)
    assert max(hours.values()) <= 5  # no hour holds more than 1 %: no moment holds a crowd


def test_spreading_is_deterministic_and_differs_between_steps_of_one_customer() -> None:
    assert spread_fraction("C1", "visit") == spread_fraction("C1", "visit")
    assert spread_fraction("C1", "visit") != spread_fraction("C1", "quarterly_review")
    fractions = [spread_fraction(f"C{n}", "visit") for n in range(10_000)]
    assert min(fractions) >= 0 and max(fractions) < 1
    assert abs(sum(fractions) / len(fractions) - 0.5) < 0.01


def decision(flow: Flow = Flow.PRIVATE_ADVISOR, customer: str = "A1") -> Decision:
    return Decision(customer, uuid.uuid5(uuid.NAMESPACE_OID, customer), 1, flow, Priority.NORMAL, "ADV1", True)


def stored(planned: PlannedStep, status: StepStatus = StepStatus.DONE) -> StoredStep:
    return planned.stored(status, attempts=1, channel=planned.channels[0])


def year_of(name: str, customer: str = "A1") -> list[PlannedStep]:
    """The occurrences of a step over the year after the decision, each planned as the one before is sent."""
    first = next(p for p in plan_steps(decision(customer=customer), DEFAULT, now=NOW) if p.name == name)
    return list(series_until(first, add_months(NOW, 12)))


def test_a_year_of_the_private_advisor_programme_is_12_contacts_4_reviews_4_visits_1_planning() -> None:
    counts = {name: len(year_of(name)) for name in ("monthly_contact", "quarterly_review", "visit", "annual_planning")}
    assert counts == {"monthly_contact": 12, "quarterly_review": 4, "visit": 4, "annual_planning": 1}
    for customer in (f"C{n}" for n in range(50)):  # whatever the customer's offset
        assert len(year_of("monthly_contact", customer)) == 12 and len(year_of("visit", customer)) == 4


def test_occurrences_keep_their_phase_and_have_their_own_deterministic_ids() -> None:
    monthly = year_of("monthly_contact")
    start = monthly[0].due_at
    assert [m.occurrence for m in monthly] == list(range(12))
    assert [m.due_at for m in monthly] == [add(start, parse_duration("P1M"), k) for k in range(12)]
    assert monthly[0].step_id == step_id(monthly[0].decision_id, "monthly_contact")  # the one-off id
    assert len({m.step_id for m in monthly}) == 12
    assert [m.step_id for m in monthly] == [m.step_id for m in year_of("monthly_contact")]
    # Each task is due by the end of its month; a review within a month of opening (its window).
    assert all(m.due_at + timedelta(days=m.task_due_days) == add(m.due_at, parse_duration("P1M")) for m in monthly)
    review = year_of("quarterly_review")[1]
    assert review.due_at + timedelta(days=review.task_due_days) == add(review.due_at, parse_duration("P1M"))


def test_a_series_late_by_whole_periods_skips_them_instead_of_opening_several_at_once() -> None:
    first = next(p for p in plan_steps(decision(), DEFAULT, now=NOW) if p.name == "monthly_contact")
    late = next_occurrence(stored(first), now=first.due_at + timedelta(days=75))  # the service was down
    assert late is not None and late.occurrence == 2
    assert late.due_at <= first.due_at + timedelta(days=75) < add(late.due_at, parse_duration("P1M"))


def test_reasons_that_end_the_plan_end_the_series_others_plan_the_next_occurrence() -> None:
    first = stored(next(p for p in plan_steps(decision(), DEFAULT, now=NOW) if p.name == "monthly_contact"))
    for reason in ("route_changed", "customer_returned", "account_closed", "holdout"):
        assert following(first, reason, now=NOW) is None
    for reason in ("delivered", "no_consent", "consent_withdrawn", "frequency_cap", "provider_gave_up"):
        successor = following(first, reason, now=NOW)
        assert successor is not None and successor.occurrence == 1
    one_off = stored(next(p for p in plan_steps(decision(), DEFAULT, now=NOW) if p.name == "welcome"))
    assert following(one_off, "delivered", now=NOW) is None


def test_the_robo_programme_is_weekly_suggestions_and_a_monthly_q_and_a_on_push_or_email() -> None:
    planned = {p.name: p for p in plan_steps(decision(Flow.ROBO_ADVISOR), DEFAULT, now=NOW)}
    weekly, monthly = planned["weekly_rebalancing"], planned["monthly_qa"]
    assert (weekly.every, monthly.every) == ("P1W", "P1M")
    assert weekly.channels == monthly.channels == (NotificationChannel.PUSH, NotificationChannel.EMAIL)
    assert weekly.message_class is MessageClass.MARKETING and NOW <= weekly.due_at < NOW + timedelta(weeks=1)
    third = next_occurrence(replace(stored(weekly), occurrence=1), now=weekly.due_at)
    assert third is not None and third.due_at == weekly.due_at + timedelta(weeks=2)


STEP = "{name: s, template: t.s, channels: [advisor_task], message_class: service"


@pytest.mark.parametrize(
    ("step", "says"),
    [
        (STEP + ", every: P1Q}", "not an ISO 8601 duration"),
        (STEP + ", every: PT6H}", "at most daily"),
        (STEP + ", window: P1M}", "belong to a recurring step"),
        (STEP + ", satisfied_by_contact: true}", "belong to a recurring step"),
        (STEP + ", every: P1M, window: P2M}", "longer than the period"),
        (STEP + ", every: P1M, task_due_days: 3}", "window"),
        ("{name: s, template: t.s, channels: [push], every: P1M, window: P1W}", "only an advisor task"),
        ("{name: s, template: t.s, channels: [push], every: P1M, satisfied_by_contact: true}", "one channel"),
        (STEP + ", every: P2Y, satisfied_by_contact: true}", "at most a year"),
    ],
)
def test_recurrence_settings_are_validated_with_the_steps_path(step: str, says: str) -> None:
    text = "version: t\nplaybooks: {private_advisor: [" + step + "], robo_advisor: [], community: [], reactivation: []}"
    with pytest.raises(ConfigurationError, match=r"playbooks\.private_advisor\.0") as error:
        parse_playbooks(text)
    assert says in str(error.value)
