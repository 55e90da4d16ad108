"""A new decision that keeps the playbook in force continues it; anything else replaces it. Pure."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, NotificationStatus, Priority
from tierflow_notification.domain.continuation import PlanInForce, continues, plan_of, plans_after
from tierflow_notification.domain.holdout import HOLDOUT, pending_suppressions
from tierflow_notification.domain.outreach import Decision
from tierflow_notification.domain.playbooks import load_playbooks
from tierflow_notification.domain.steps import StepStatus, StoredStep

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
DEFAULT = load_playbooks(Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml")


def decision(
    version: int,
    flow: Flow = Flow.REACTIVATION,
    *,
    priority: Priority = Priority.NORMAL,
    advisor_id: str | None = None,
    active: bool = True,
    holdout: bool = False,
    customer_id: str = "C1",
) -> Decision:
    return Decision(
        customer_id=customer_id,
        decision_id=uuid.uuid5(uuid.NAMESPACE_OID, f"{customer_id}/{version}"),
        version=version,
        flow=flow,
        priority=priority,
        advisor_id=advisor_id,
        active=active,
        holdout=holdout,
    )


def test_a_decision_with_the_same_flow_priority_and_advisor_continues_the_plan() -> None:
    plan = plan_of(decision(1, Flow.PRIVATE_ADVISOR, advisor_id="ADV1"))
    assert plan is not None
    # An experiment arm or the holdout changed: the same playbook, so it continues.
    assert continues(plan, decision(2, Flow.PRIVATE_ADVISOR, advisor_id="ADV1", holdout=True))
    assert continues(plan, decision(3, Flow.PRIVATE_ADVISOR, advisor_id="ADV1"))


def test_any_other_decision_replaces_the_plan() -> None:
    plan = plan_of(decision(1, Flow.PRIVATE_ADVISOR, advisor_id="ADV1"))
    assert not continues(plan, decision(2, Flow.ROBO_ADVISOR))  # another flow
    assert not continues(plan, decision(2, Flow.PRIVATE_ADVISOR, advisor_id="ADV2"))  # another advisor
    # Another priority chooses another playbook (PlaybookSet.steps_for(flow, priority)).
    assert not continues(plan, decision(2, Flow.PRIVATE_ADVISOR, advisor_id="ADV1", priority=Priority.HIGH))
    assert not continues(plan, decision(2, Flow.PRIVATE_ADVISOR, advisor_id="ADV1", active=False))  # closed
    assert not continues(None, decision(1))  # nothing in force: the first decision, or one remembered before plans


def test_an_inactive_decision_puts_no_plan_in_force_so_a_reopened_account_plans_again() -> None:
    assert plan_of(decision(2, active=False)) is None
    assert not continues(plan_of(decision(2, active=False)), decision(3))


def test_plans_after_keeps_the_plan_of_continuing_customers_and_puts_the_new_ones_in_force() -> None:
    first = decision(1, customer_id="K")
    in_force = {"K": PlanInForce(first.decision_id, first.flow, first.priority, None)}
    current = {"K": decision(2, customer_id="K", holdout=True), "N": decision(1, Flow.COMMUNITY, customer_id="N")}
    replaced, continued, after = plans_after(current, in_force, DEFAULT)
    assert list(continued) == ["K"] and list(replaced) == ["N"]
    assert after["K"] == in_force["K"]  # still the plan of decision 1: its steps are the ones that may go out
    assert after["N"] == PlanInForce(current["N"].decision_id, Flow.COMMUNITY, Priority.NORMAL, None)


def stored(name: str, message_class: MessageClass, status: StepStatus = StepStatus.PENDING) -> StoredStep:
    return StoredStep(
        step_id=uuid.uuid5(uuid.NAMESPACE_OID, name),
        customer_id="C1",
        decision_id=decision(1).decision_id,
        flow=Flow.REACTIVATION,
        name=name,
        template=f"reactivation.{name}",
        channels=(NotificationChannel.SMS,),
        message_class=message_class,
        stop_when_active=True,
        advisor_id=None,
        priority=Priority.NORMAL,
        task_due_days=None,
        planned_at=NOW,
        first_due_at=NOW,
        due_at=NOW,
        status=status,
        attempts=0,
        channel=None,
    )


def test_joining_the_holdout_with_the_same_playbook_suppresses_its_pending_marketing_only() -> None:
    steps = [
        stored("sms_day3", MessageClass.MARKETING),
        stored("call_day7", MessageClass.SERVICE),
        stored("push_day1", MessageClass.MARKETING, StepStatus.SENDING),  # under way: left to its delivery
    ]
    held = pending_suppressions(steps, {"C1": decision(2, holdout=True)}, now=NOW)
    assert [(c.step_id, c.status, c.last_reason) for c in held.changes] == [
        (steps[0].step_id, StepStatus.CANCELLED, HOLDOUT)
    ]
    assert [(r.step.name, r.status, r.reason) for r in held.records] == [
        ("sms_day3", NotificationStatus.SUPPRESSED, HOLDOUT)
    ]
    # Out of the holdout (another arm), nothing is suppressed.
    assert pending_suppressions(steps, {"C1": dataclasses.replace(decision(2), holdout=False)}, now=NOW).changes == []
