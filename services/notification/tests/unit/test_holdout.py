"""The global holdout: marketing steps suppressed with reason `holdout`, service steps untouched. Pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from tierflow_common.events import RoutingDecided
from tierflow_common.events.outputs import Flow, NotificationStatus, Priority
from tierflow_notification.domain.holdout import HOLDOUT, holdout_suppressions
from tierflow_notification.domain.outreach import Decision, plan_steps
from tierflow_notification.domain.playbooks import load_playbooks
from tierflow_notification.domain.steps import StepStatus
from tierflow_notification.handlers import decision_of
from tierflow_testing import builders as b

DEFAULT = load_playbooks(Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def decision(customer_id: str, flow: Flow, *, holdout: bool, priority: Priority = Priority.NORMAL) -> Decision:
    return Decision(
        customer_id=customer_id,
        decision_id=uuid.uuid5(uuid.NAMESPACE_OID, customer_id),
        version=1,
        flow=flow,
        priority=priority,
        advisor_id="ADV1" if flow is Flow.PRIVATE_ADVISOR else None,
        active=True,
        holdout=holdout,
    )


def test_a_holdout_decision_loses_its_marketing_steps_and_keeps_its_service_steps() -> None:
    decisions = {
        "H1": decision("H1", Flow.PRIVATE_ADVISOR, holdout=True),
        "H2": decision("H2", Flow.REACTIVATION, holdout=True),
        "N1": decision("N1", Flow.PRIVATE_ADVISOR, holdout=False),
    }
    planned = [step for d in decisions.values() for step in plan_steps(d, DEFAULT, now=NOW)]
    suppressed = holdout_suppressions(planned, decisions, now=NOW)
    by_template = {r.step.template: r for r in suppressed.records}
    # H1: the welcome (marketing) is suppressed, the advisor's introduction task (service) is not.
    assert sorted(by_template) == [
        "advisor.welcome",
        "reactivation.call_day7",
        "reactivation.market_recovering",  # the ladder's day-14 rung (issue 12)
        "reactivation.push_day0",
        "reactivation.sms_day3",
    ]
    assert {(r.status, r.reason, r.step.status) for r in suppressed.records} == {
        (NotificationStatus.SUPPRESSED, HOLDOUT, StepStatus.CANCELLED)
    }
    assert {c.step_id for c in suppressed.changes} == {r.step.step_id for r in suppressed.records}
    assert all((c.status, c.last_reason) == (StepStatus.CANCELLED, HOLDOUT) for c in suppressed.changes)
    assert not [r for r in suppressed.records if r.step.customer_id == "N1"]
    # Deterministic ids: a second planning of the same decision records nothing new.
    again = holdout_suppressions(planned, decisions, now=NOW)
    assert [r.notification_id for r in again.records] == [r.notification_id for r in suppressed.records]


def test_the_holdout_arm_on_routing_v1_marks_the_decision() -> None:
    arm = {"experiment": "programme-holdout", "arm": "holdout", "assignment_probability": 0.1}
    control = {**arm, "experiment": "robo-for-c-1", "arm": "control", "assignment_probability": 0.5}
    event = b.routing_decided("H1", 1, "community", experiment=arm)
    assert isinstance(event, RoutingDecided) and decision_of(event).holdout
    assert not decision_of(b.routing_decided("C1", 1, "community", experiment=control)).holdout
    assert not decision_of(b.routing_decided("C2", 1, "community")).holdout
