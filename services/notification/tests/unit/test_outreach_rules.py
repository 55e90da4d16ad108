"""Playbooks, step planning and the idempotency chain. Pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tierflow_common.events.outputs import Flow, NotificationChannel, Priority
from tierflow_common.exceptions import ConfigurationError
from tierflow_notification.domain.outreach import Decision, plan_steps, sent_id, step_id
from tierflow_notification.domain.playbooks import load_playbooks, parse_playbooks

DEFAULT = load_playbooks(Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def decision(flow: Flow, priority: Priority = Priority.NORMAL, *, active: bool = True) -> Decision:
    return Decision(
        customer_id="C1",
        decision_id=uuid.uuid5(uuid.NAMESPACE_OID, f"{flow}{priority}"),
        version=1,
        flow=flow,
        priority=priority,
        advisor_id="ADV1" if flow is Flow.PRIVATE_ADVISOR else None,
        active=active,
    )


def test_reactivation_is_a_ladder_push_day_0_sms_day_3_call_day_7_that_stops_on_return() -> None:
    steps = plan_steps(decision(Flow.REACTIVATION), DEFAULT, now=NOW)
    assert [(s.template, s.channels, s.due_at - NOW) for s in steps] == [
        ("reactivation.push_day0", (NotificationChannel.PUSH,), timedelta(0)),
        ("reactivation.sms_day3", (NotificationChannel.SMS,), timedelta(days=3)),
        ("reactivation.call_day7", (NotificationChannel.ADVISOR_TASK,), timedelta(days=7)),
        ("reactivation.market_recovering", (NotificationChannel.SMS,), timedelta(days=14)),  # no reason recorded
    ]
    assert all(s.stop_when_active for s in steps)


def test_private_advisor_gets_a_task_and_a_welcome_and_urgent_gets_the_retention_task() -> None:
    programme = [
        "advisor.monthly_contact",
        "advisor.portfolio_review",
        "advisor.onsite_visit",
        "advisor.annual_planning",
    ]
    normal = plan_steps(decision(Flow.PRIVATE_ADVISOR), DEFAULT, now=NOW)
    assert [s.template for s in normal] == ["advisor.new_customer", "advisor.welcome", *programme]
    urgent = plan_steps(decision(Flow.PRIVATE_ADVISOR, Priority.URGENT), DEFAULT, now=NOW)
    assert [s.template for s in urgent] == ["advisor.retention_urgent", "advisor.welcome", *programme]
    assert urgent[0].task_due_days == 0 and urgent[0].advisor_id == "ADV1"


def test_robo_and_community_get_their_message_and_a_closed_account_gets_nothing() -> None:
    assert [s.template for s in plan_steps(decision(Flow.ROBO_ADVISOR), DEFAULT, now=NOW)] == [
        "robo.onboarding",
        "robo.rebalancing_suggestion",
        "robo.online_qa_invitation",
    ]
    assert [s.template for s in plan_steps(decision(Flow.COMMUNITY), DEFAULT, now=NOW)] == ["community.invitation"]
    assert plan_steps(decision(Flow.COMMUNITY, active=False), DEFAULT, now=NOW) == []


def test_the_idempotency_chain_is_stable_decision_to_step_to_notification() -> None:
    one = plan_steps(decision(Flow.REACTIVATION), DEFAULT, now=NOW)
    two = plan_steps(decision(Flow.REACTIVATION), DEFAULT, now=NOW + timedelta(hours=1))
    assert [s.step_id for s in one] == [s.step_id for s in two]
    assert one[0].step_id == step_id(one[0].decision_id, "day0_push")
    assert sent_id(one[0].step_id) == sent_id(two[0].step_id) != sent_id(one[1].step_id)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: x\nplaybooks: {}\n", "every flow needs a playbook"),
        ("- a list\n", "a playbook file is a YAML mapping"),
        (
            "version: x\nplaybooks:\n  private_advisor: []\n  robo_advisor: []\n  community: []\n"
            "  reactivation:\n    - {name: a, template: t, channels: [pigeon]}\n",
            "playbooks.reactivation.0.channels.0",
        ),
        (
            "version: x\nplaybooks:\n  private_advisor: []\n  robo_advisor: []\n  community: []\n"
            "  reactivation:\n    - {name: a, template: t, channels: [push]}\n"
            "    - {name: a, template: u, channels: [sms]}\n",
            "step names must be unique",
        ),
        ("version: x\ngovernance: {quiet_hours: {start: '25:00'}}\nplaybooks: {}\n", "governance.quiet_hours.start"),
    ],
)
def test_an_invalid_playbook_file_is_rejected_with_the_place_of_the_error(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace(".", r"\.")):
        parse_playbooks(text)
