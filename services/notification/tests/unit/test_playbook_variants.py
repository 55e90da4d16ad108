"""Playbook variants: validated with the file, chosen by the decision's arm, a fallback said, and a change of
variant is a new plan. Pure (the fallback report reads the process's counter and log)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from tierflow_common.events.outputs import Flow, NotificationChannel, Priority
from tierflow_common.exceptions import ConfigurationError
from tierflow_notification.domain.continuation import PlanInForce, continues, plan_of, plans_after
from tierflow_notification.domain.outreach import Decision, plan_steps
from tierflow_notification.domain.playbooks import PlaybookFallback, load_playbooks, parse_playbooks
from tierflow_notification.service import report_fallbacks

DEFAULT = load_playbooks(Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
FLOWS = "playbooks:\n  private_advisor: []\n  robo_advisor: []\n  community: []\n  reactivation: []\n"


def decision(
    version: int = 1,
    flow: Flow = Flow.REACTIVATION,
    *,
    playbook: str | None = None,
    priority: Priority = Priority.NORMAL,
    active: bool = True,
    holdout: bool = False,
) -> Decision:
    return Decision(
        customer_id="C1",
        decision_id=uuid.uuid5(uuid.NAMESPACE_OID, f"C1/{version}"),
        version=version,
        flow=flow,
        priority=priority,
        advisor_id=None,
        active=active,
        holdout=holdout,
        playbook=playbook,
    )


def test_the_shipped_file_has_a_shorter_reactivation_ladder_as_a_variant() -> None:
    steps = plan_steps(decision(playbook="reactivation_short"), DEFAULT, now=NOW)
    assert [(s.name, s.template, s.channels, s.due_at - NOW) for s in steps] == [
        ("day0_push", "reactivation.push_day0", (NotificationChannel.PUSH,), timedelta(0)),
        ("day2_call", "reactivation.call_day2", (NotificationChannel.ADVISOR_TASK,), timedelta(days=2)),
    ]
    assert all(s.stop_when_active for s in steps)
    # The control arm (no playbook named) gets the flow's own 4-step ladder.
    ladder = ["day0_push", "day3_sms", "day7_call", "day14_recovery"]
    assert [s.name for s in plan_steps(decision(), DEFAULT, now=NOW)] == ladder


def test_a_named_variant_plays_only_for_its_own_flow_else_the_flow_playbook_and_why() -> None:
    chosen = DEFAULT.choose(Flow.REACTIVATION, Priority.NORMAL, "reactivation_short")
    assert (chosen.variant, chosen.fallback) == ("reactivation_short", None)
    assert DEFAULT.choose(Flow.REACTIVATION, Priority.NORMAL, None) == DEFAULT.choose(
        Flow.REACTIVATION, Priority.HIGH, None
    )
    unknown = DEFAULT.choose(Flow.REACTIVATION, Priority.NORMAL, "no_such_playbook")
    assert (unknown.variant, unknown.fallback) == (None, PlaybookFallback.UNKNOWN)
    assert unknown.steps == DEFAULT.steps_for(Flow.REACTIVATION, Priority.NORMAL)
    other = DEFAULT.choose(Flow.COMMUNITY, Priority.NORMAL, "reactivation_short")
    assert (other.variant, other.fallback) == (None, PlaybookFallback.OTHER_FLOW)
    assert [s.template for s in other.steps] == ["community.invitation"]


def test_a_variant_filters_its_steps_by_the_decision_priority_as_a_flow_playbook_does() -> None:
    playbooks = parse_playbooks(
        "version: x\n" + FLOWS + "variants:\n  - name: urgent_only\n    flow: community\n    steps:\n"
        "      - {name: a, template: t.a, channels: [push], priorities: [urgent]}\n"
        "      - {name: b, template: t.b, channels: [push]}\n"
    )
    assert [s.name for s in playbooks.choose(Flow.COMMUNITY, Priority.URGENT, "urgent_only").steps] == ["a", "b"]
    assert [s.name for s in playbooks.choose(Flow.COMMUNITY, Priority.NORMAL, "urgent_only").steps] == ["b"]


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        (
            "  - {name: v, flow: reactivation, steps: []}\n  - {name: v, flow: community, steps: []}\n",
            "variant names must be unique: ['v']",
        ),
        (
            "  - name: v\n    flow: reactivation\n    steps:\n      - {name: a, template: t, channels: [push]}\n"
            "      - {name: a, template: u, channels: [sms]}\n",
            "variant v: step names must be unique",
        ),
        (
            "  - name: v\n    flow: reactivation\n    steps: [{name: a, template: t, channels: [pigeon]}]\n",
            "variants.0.steps.0.channels.0",
        ),
        ("  - {name: v, flow: teleport, steps: []}\n", "variants.0.flow"),
        ("  - {name: Short-Ladder, flow: reactivation, steps: []}\n", "variants.0.name"),
        ("  - {name: v, flow: reactivation}\n", "variants.0.steps"),
        ("  - {name: community, flow: community, steps: []}\n", "may not be named after a flow"),
    ],
)
def test_an_invalid_variant_stops_the_whole_file(variants: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")):
        parse_playbooks("version: x\n" + FLOWS + "variants:\n" + variants)


def test_a_change_of_variant_replaces_the_plan_and_the_same_variant_continues_it() -> None:
    plan = plan_of(decision(1), None)
    assert plan is not None
    assert not continues(plan, decision(2, playbook="reactivation_short"), "reactivation_short")  # into a variant
    short = plan_of(decision(1, playbook="reactivation_short"), "reactivation_short")
    assert continues(short, decision(2, playbook="reactivation_short"), "reactivation_short")  # the same one
    assert continues(short, decision(2, playbook="reactivation_short", holdout=True), "reactivation_short")
    assert not continues(short, decision(2), None)  # back to the flow's playbook
    assert not continues(short, decision(2, playbook="reactivation_other"), "reactivation_other")  # another


def test_plans_after_compares_the_variant_played_not_the_name_asked_for() -> None:
    first = decision(1)
    in_force = {"C1": PlanInForce(first.decision_id, first.flow, first.priority, None)}
    # An unknown name plays the flow's playbook: nothing different would be sent, so the plan continues.
    _, continued, after = plans_after({"C1": decision(2, playbook="no_such_playbook")}, in_force, DEFAULT)
    assert list(continued) == ["C1"] and after["C1"] == in_force["C1"]
    replaced, _, after = plans_after({"C1": decision(2, playbook="reactivation_short")}, in_force, DEFAULT)
    assert list(replaced) == ["C1"]
    assert after["C1"] == PlanInForce(
        decision(2).decision_id, Flow.REACTIVATION, Priority.NORMAL, None, "reactivation_short"
    )


def fallbacks(flow: str, reason: str) -> float:
    labels = {"flow": flow, "reason": reason}
    return REGISTRY.get_sample_value("tierflow_notification_playbook_fallbacks_total", labels) or 0.0


def test_a_fallback_is_counted_by_reason_and_logged_without_the_customer(caplog: pytest.LogCaptureFixture) -> None:
    before = (fallbacks("reactivation", "unknown_playbook"), fallbacks("community", "playbook_of_other_flow"))
    with caplog.at_level(logging.WARNING, logger="tierflow_notification.service"):
        report_fallbacks(
            [
                decision(1, playbook="no_such_playbook"),
                decision(2, Flow.COMMUNITY, playbook="reactivation_short"),
                decision(3, playbook="reactivation_short"),  # played: nothing to say
                decision(4),  # no playbook named
                decision(5, playbook="no_such_playbook", active=False),  # plans nothing
            ],
            DEFAULT,
        )
    after = (fallbacks("reactivation", "unknown_playbook"), fallbacks("community", "playbook_of_other_flow"))
    assert (after[0] - before[0], after[1] - before[1]) == (1.0, 1.0)
    assert [(r.playbook, r.reason) for r in caplog.records] == [  # type: ignore[attr-defined]
        ("no_such_playbook", "unknown_playbook"),
        ("reactivation_short", "playbook_of_other_flow"),
    ]
    assert all("C1" not in str(vars(r)) for r in caplog.records)
