"""Playbook arms: an arm may name a notification playbook variant; the decision carries it, the lock covers it,
and assignments stored before the field read as no playbook. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tierflow_common.events.outputs import ExperimentAssignment, Flow
from tierflow_routing.domain.decision import wanted_outcome
from tierflow_routing.domain.experiments import drawn_arm, locked_changes
from tierflow_routing.domain.facts import Assignment, CustomerState, ProfileFacts, Route, ScoreFacts
from tierflow_routing.domain.policy import (
    DEFAULT_ROUTING_POLICY_FILE,
    RoutingPolicy,
    RoutingPolicyError,
    load_routing_policy,
    parse_routing_policy,
    routing_policy_from_document,
)

DEFAULT = load_routing_policy(DEFAULT_ROUTING_POLICY_FILE)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SHORT_LADDER: dict[str, Any] = {
    "id": "short-win-back-1",
    "salt": "short-win-back-1",
    "population": {"rules": ["dormant_reactivation"]},
    "arms": [
        {"name": "control", "weight": 1},
        {"name": "short_ladder", "weight": 1, "playbook": "reactivation_short"},
    ],
}


def policy(experiment: dict[str, Any] = SHORT_LADDER, version: str = "routing-pb-1") -> RoutingPolicy:
    document = DEFAULT.model_dump(mode="json")
    document["version"] = version
    document["experiments"] = [experiment]
    return routing_policy_from_document(document)


def dormant(customer_id: str) -> CustomerState:
    """A D-tier customer the default policy sends to reactivation (rule dormant_reactivation)."""
    return CustomerState(
        customer_id=customer_id,
        profile=ProfileFacts(profile_version=1),
        score=ScoreFacts(score_version=1, tier="D", churn_band="high"),
    )


def in_arm(active: RoutingPolicy, arm: str) -> str:
    return next(
        i
        for i in (f"D{n:05d}" for n in range(10_000))
        if getattr(drawn_arm(active.experiments[0], i), "name", "") == arm
    )


def test_a_playbook_arm_keeps_the_flow_and_the_decision_names_the_playbook() -> None:
    active = policy()
    wanted = wanted_outcome(dormant(in_arm(active, "short_ladder")), active, NOW)
    assert wanted.flow is Flow.REACTIVATION and wanted.rule == "dormant_reactivation"
    assert wanted.experiment == Assignment("short-win-back-1", "short_ladder", 0.5, "reactivation_short")
    code, _, detail = wanted.reasons[-1]
    assert code == "experiment_arm" and detail.endswith("playbook reactivation_short")
    control = wanted_outcome(dormant(in_arm(active, "control")), active, NOW)
    assert control.flow is Flow.REACTIVATION
    assert control.experiment == Assignment("short-win-back-1", "control", 0.5)  # no playbook: the flow's own


def test_the_contract_carries_the_playbook_and_leaves_it_out_when_there_is_none() -> None:
    named = Assignment("short-win-back-1", "short_ladder", 0.5, "reactivation_short").contract()
    assert named == ExperimentAssignment(
        experiment="short-win-back-1", arm="short_ladder", assignment_probability=0.5, playbook="reactivation_short"
    )
    assert msgspec.json.decode(named.model_dump_json())["playbook"] == "reactivation_short"
    # Without a playbook the JSON is what it was before the field: consumers that predate it still accept it.
    plain = Assignment("short-win-back-1", "control", 0.5).contract()
    assert msgspec.json.decode(plain.model_dump_json()) == {
        "experiment": "short-win-back-1",
        "arm": "control",
        "assignment_probability": 0.5,
    }
    assert ExperimentAssignment.model_validate_json(plain.model_dump_json()).playbook is None


def test_assignments_and_routes_stored_before_the_field_read_as_no_playbook() -> None:
    old_assignment = msgspec.json.encode(["short-win-back-1", "control", 0.5])
    assert msgspec.json.decode(old_assignment, type=Assignment) == Assignment("short-win-back-1", "control", 0.5)
    route = Route(
        decision_id="d",
        version=1,
        flow="reactivation",
        priority="normal",
        active=True,
        rule="dormant_reactivation",
        reasons=[],
        policy_version="v",
        decided_at=NOW,
        experiment=Assignment("short-win-back-1", "control", 0.5),
    )
    stored = msgspec.json.decode(msgspec.json.encode(route))
    stored[-1] = stored[-1][:3]  # the assignment as routing stored it before the playbook was appended
    assert msgspec.json.decode(msgspec.json.encode(stored), type=Route) == route
    state = CustomerState(customer_id="D1", route=route)
    again = msgspec.json.decode(msgspec.json.encode(state), type=CustomerState)
    assert again.route is not None and again.route.experiment == route.experiment


@pytest.mark.parametrize("name", ["Short-Ladder", "1short", "short ladder", "x" * 65])
def test_a_playbook_name_is_a_lower_case_identifier(name: str) -> None:
    arms = [{"name": "control", "weight": 1}, {"name": "b", "weight": 1, "playbook": name}]
    with pytest.raises(RoutingPolicyError, match=r"experiments\.0\.arms\.1\.playbook"):
        policy({**SHORT_LADDER, "arms": arms})


def test_the_lock_covers_an_arms_playbook() -> None:
    stored = policy()
    assert locked_changes(policy(version="routing-pb-2"), [stored]) == []
    control, short = SHORT_LADDER["arms"]
    changed = [
        [control, {**short, "playbook": "reactivation_other"}],  # another variant
        [control, {k: v for k, v in short.items() if k != "playbook"}],  # the variant dropped
        [{**control, "playbook": "reactivation_short"}, short],  # a variant added to the control arm
    ]
    for arms in changed:
        assert locked_changes(policy({**SHORT_LADDER, "arms": arms}, "routing-pb-2"), [stored]) == [
            "short-win-back-1 (stored in version routing-pb-1) changes arms"
        ]


def test_the_commented_example_in_the_shipped_policy_is_a_valid_policy_with_a_playbook_arm() -> None:
    lines = DEFAULT_ROUTING_POLICY_FILE.read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("# holdout:"))
    example = "\n".join(line.removeprefix("# ") for line in lines[start:])
    uncommented = "\n".join(lines[:start]).replace("version: ", "version: example-", 1) + "\n" + example + "\n"
    parsed = parse_routing_policy(uncommented)
    arms = {arm.name: arm for experiment in parsed.experiments for arm in experiment.arms}
    assert arms["short_ladder"].playbook == "reactivation_short" and arms["control"].playbook is None
    assert parsed.resources is not None and parsed.resources.advisor_places.by_tier()["A"] == 0.30
    assert parsed.waitlist is not None and parsed.waitlist.order.value == "value_times_risk"
