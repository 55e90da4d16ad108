"""Outbound call capacity: each tier's calls a day, the calling day, waiting and giving up, the file's checks. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tierflow_common.events.outputs import MessageClass, NotificationChannel, Tier
from tierflow_common.exceptions import ConfigurationError
from tierflow_notification.domain.calls import SHARE_SPENT, CallCapacity
from tierflow_notification.domain.governance import Action, DueStep, Verdict, call_over_share
from tierflow_notification.domain.playbooks import load_playbooks, parse_playbooks

TASK = NotificationChannel.ADVISOR_TASK
# 23:30 on 1 December in Asia/Shanghai: the calling day ends in half an hour.
LATE_EVENING = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("per_day", "limits"),
    [
        (200, {"A": 60, "B": 80, "C": 40, "D": 20}),
        (400, {"A": 120, "B": 160, "C": 80, "D": 40}),
        (7, {"A": 2, "B": 3, "C": 1, "D": 1}),  # 2.1, 2.8, 1.4, 0.7: the largest remainders are B, D, C
        (1, {"A": 0, "B": 1, "C": 0, "D": 0}),
        (0, {"A": 0, "B": 0, "C": 0, "D": 0}),
    ],
)
def test_each_tier_gets_its_share_of_the_day_and_the_limits_add_up_to_the_capacity(
    per_day: int, limits: dict[str, int]
) -> None:
    calls = CallCapacity(per_day=per_day)
    assert {tier.value: n for tier, n in calls.limits().items()} == limits
    assert sum(calls.limits().values()) == per_day
    assert calls.limited is (per_day > 0)


def test_ties_in_the_remainder_go_to_the_tier_first_in_a_to_d_order() -> None:
    calls = CallCapacity(per_day=2, shares={Tier.A: 0.25, Tier.B: 0.25, Tier.C: 0.25, Tier.D: 0.25})
    assert calls.limits() == {Tier.A: 1, Tier.B: 1, Tier.C: 0, Tier.D: 0}


def test_the_calling_day_is_the_local_day_and_the_next_one_starts_at_local_midnight() -> None:
    calls = CallCapacity(per_day=10)
    assert str(calls.day_of(LATE_EVENING)) == "2026-12-01"
    assert str(calls.day_of(LATE_EVENING + timedelta(hours=1))) == "2026-12-02"
    assert calls.next_day(LATE_EVENING) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert str(CallCapacity(per_day=10, timezone="UTC").day_of(LATE_EVENING)) == "2026-12-01"


def due(late_days: float) -> DueStep:
    return DueStep(
        channels=(TASK,),
        message_class=MessageClass.SERVICE,
        stop_when_active=False,
        planned_at=LATE_EVENING - timedelta(days=late_days + 1),
        first_due_at=LATE_EVENING - timedelta(days=late_days),
    )


def test_a_call_over_its_share_waits_for_the_next_day_then_is_dropped_when_too_late() -> None:
    calls = CallCapacity(per_day=10, give_up_after_days=30)
    allowed = Verdict(Action.SEND, "service_message", TASK)
    waits = call_over_share(due(3), allowed, now=LATE_EVENING, calls=calls)
    assert (waits.action, waits.reason, waits.until, waits.channel) == (
        Action.DEFER,
        SHARE_SPENT,
        calls.next_day(LATE_EVENING),
        TASK,
    )
    dropped = call_over_share(due(29.99), allowed, now=LATE_EVENING, calls=calls)
    assert (dropped.action, dropped.reason, dropped.until) == (Action.SUPPRESS, SHARE_SPENT, None)


PLAYBOOK = """
version: t
governance: {calls: %s}
playbooks:
  private_advisor: [{name: call, template: advisor.call, channels: [%s], outbound_call: true}]
  robo_advisor: []
  community: []
  reactivation: []
"""


@pytest.mark.parametrize(
    ("calls", "channels", "says"),
    [
        ("{per_day: 10, shares: {A: 0.5, B: 0.5, C: 0.2, D: 0.1}}", "advisor_task", "add up to 1; these add up to 1.3"),
        ("{per_day: 10, shares: {A: 0.9, B: 0.1}}", "advisor_task", "give a share for each of A, B, C, D"),
        ("{per_day: -1}", "advisor_task", "governance.calls.per_day"),
        ("{per_day: 10, timezone: Mars/Olympus}", "advisor_task", "Mars/Olympus"),
        ("{per_day: 10, lend: true}", "advisor_task", "governance.calls.lend: Extra inputs"),
        ("{per_day: 10}", "push", "an outbound call is an advisor task"),
    ],
)
def test_a_malformed_call_capacity_or_call_step_stops_the_service_with_its_path(
    calls: str, channels: str, says: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_playbooks(PLAYBOOK % (calls, channels))
    assert says in str(refused.value), str(refused.value)


def test_the_shipped_file_splits_400_calls_a_day_30_40_20_10_over_the_calls_it_marks() -> None:
    shipped = load_playbooks(Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml")
    assert shipped.governance.calls.limits() == {Tier.A: 120, Tier.B: 160, Tier.C: 80, Tier.D: 40}
    marked = {
        (flow.value, step.name) for flow, steps in shipped.playbooks.items() for step in steps if step.outbound_call
    }
    assert marked == {
        ("private_advisor", "retention_task"),
        ("private_advisor", "introduction_task"),
        ("private_advisor", "monthly_contact"),
        ("reactivation", "day7_call"),
    }
