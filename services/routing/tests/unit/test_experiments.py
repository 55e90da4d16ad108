"""Experiments and the global holdout: the documented hash, arms and shares, what a decision carries, locking."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierflow_common.events.outputs import HOLDOUT_ARM, Flow, Priority
from tierflow_routing.domain.decision import settle, wanted_outcome
from tierflow_routing.domain.experiments import (
    bucket,
    drawn_arm,
    holdout_assignment,
    locked_changes,
    next_boundary,
)
from tierflow_routing.domain.facts import CustomerState, ProfileFacts, ScoreFacts
from tierflow_routing.domain.policy import (
    DEFAULT_ROUTING_POLICY_FILE,
    RoutingPolicy,
    RoutingPolicyError,
    load_routing_policy,
    routing_policy_from_document,
)

DEFAULT = load_routing_policy(DEFAULT_ROUTING_POLICY_FILE)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
END = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)

ROBO_FOR_C: dict[str, Any] = {
    "id": "robo-for-c-2026q4",
    "salt": "robo-for-c-2026q4",
    "population": {"rules": ["default"], "when": {"tier": ["C"]}, "share": 0.5},
    "arms": [
        {"name": "control", "weight": 1},
        {"name": "robo", "weight": 3, "flow": "robo_advisor", "priority": "high"},
    ],
    "start": START.isoformat(),
    "end": END.isoformat(),
}
HOLDOUT: dict[str, Any] = {"id": "programme-holdout", "salt": "programme-holdout-1", "share": 0.1}


def policy(*, experiments: list[dict[str, Any]] | None = None, holdout: dict[str, Any] | None = None) -> RoutingPolicy:
    document = DEFAULT.model_dump(mode="json")
    document["version"] = "routing-exp-1"
    document["experiments"] = [ROBO_FOR_C] if experiments is None else experiments
    document["holdout"] = holdout
    return routing_policy_from_document(document)


def plain_c(customer_id: str) -> CustomerState:
    """A tier C customer the default policy sends to community by its last rule (`default`)."""
    return CustomerState(
        customer_id=customer_id,
        profile=ProfileFacts(profile_version=1, consents={"data_for_advice": True}, digital_logins_30d=1),
        score=ScoreFacts(score_version=1, tier="C", churn_band="low"),
    )


def ids(n: int) -> list[str]:
    return [f"C{i:07d}" for i in range(n)]


def first_id(where: Any) -> str:
    return next(i for i in ids(10_000) if where(i))


# --- the hash, as docs/experiments.md states it -------------------------------------------------------------------


def test_the_bucket_is_the_documented_formula() -> None:
    digest = hashlib.sha256(b"robo-for-c-2026q4:C0000042").digest()
    assert bucket("robo-for-c-2026q4", "C0000042") == Fraction(int.from_bytes(digest[:8], "big"), 2**64)
    # Pinned: a change to the formula would move every customer of every running experiment.
    assert bucket("salt", "C1") == Fraction(0x7D1008057FF81D9C, 2**64)


@settings(max_examples=200, deadline=None)
@given(
    customer_id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", fullmatch=True),
    salt=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=32),
)
def test_assignment_is_stable_and_survives_a_policy_reupload(customer_id: str, salt: str) -> None:
    experiment = {**ROBO_FOR_C, "salt": salt}
    first = policy(experiments=[experiment])
    reuploaded = routing_policy_from_document(first.model_dump(mode="json"))
    arm = drawn_arm(first.experiments[0], customer_id)
    assert 0 <= bucket(salt, customer_id) < 1
    assert arm == drawn_arm(first.experiments[0], customer_id)
    again = drawn_arm(reuploaded.experiments[0], customer_id)
    assert (arm and arm.name) == (again and again.name)


def test_arm_shares_and_the_population_share_hold_over_many_customers() -> None:
    experiment = policy().experiments[0]
    n = 40_000
    counts = Counter(getattr(drawn_arm(experiment, i), "name", None) for i in ids(n))
    expected = {None: 0.5, "control": 0.125, "robo": 0.375}
    for arm, share in expected.items():
        sigma = (share * (1 - share) / n) ** 0.5
        assert abs(counts[arm] / n - share) < 4 * sigma, (arm, counts[arm] / n)


def test_the_holdout_share_holds_and_is_independent_of_the_experiment() -> None:
    holdout = policy(holdout=HOLDOUT).holdout
    experiment = policy().experiments[0]
    n = 40_000
    held = [i for i in ids(n) if holdout_assignment(holdout, i) is not None]
    assert abs(len(held) / n - 0.1) < 4 * (0.1 * 0.9 / n) ** 0.5
    # another salt, another draw: the held-out customers are spread over the arms like everyone else
    robo = sum(1 for i in held if getattr(drawn_arm(experiment, i), "name", None) == "robo") / len(held)
    assert abs(robo - 0.375) < 4 * (0.375 * 0.625 / len(held)) ** 0.5


# --- what a decision carries ----------------------------------------------------------------------------------------


def test_an_arm_changes_the_rules_outcome_and_the_decision_carries_it() -> None:
    active = policy()
    robo_id = first_id(lambda i: getattr(drawn_arm(active.experiments[0], i), "name", None) == "robo")
    wanted = wanted_outcome(plain_c(robo_id), active, NOW)
    assert (wanted.flow, wanted.priority, wanted.rule) == (Flow.ROBO_ADVISOR, Priority.HIGH, "default")
    assert wanted.experiment is not None
    assert (wanted.experiment.experiment, wanted.experiment.arm) == ("robo-for-c-2026q4", "robo")
    assert wanted.experiment.assignment_probability == pytest.approx(0.375)
    assert wanted.reasons[-1][0] == "experiment_arm"

    control_id = first_id(lambda i: getattr(drawn_arm(active.experiments[0], i), "name", None) == "control")
    control = wanted_outcome(plain_c(control_id), active, NOW)
    assert (control.flow, control.priority) == (Flow.COMMUNITY, Priority.NORMAL)
    assert control.experiment is not None and control.experiment.arm == "control"
    assert control.experiment.assignment_probability == pytest.approx(0.125)


def test_only_the_population_while_running_is_assigned() -> None:
    active = policy()
    robo_id = first_id(lambda i: getattr(drawn_arm(active.experiments[0], i), "name", None) == "robo")
    outside = drawn_id = first_id(lambda i: drawn_arm(active.experiments[0], i) is None)
    assert wanted_outcome(plain_c(outside), active, NOW).experiment is None  # not drawn: population share 0.5
    digital = plain_c(robo_id)
    digital.profile.digital_logins_30d = 12  # now rule c_digital_robo matches, not `default`
    assert wanted_outcome(digital, active, NOW).experiment is None
    assert wanted_outcome(plain_c(robo_id), active, START - timedelta(seconds=1)).experiment is None
    assert wanted_outcome(plain_c(robo_id), active, END).experiment is None
    assert next_boundary(active, START - timedelta(days=1)) == START
    assert next_boundary(active, NOW) == END
    assert next_boundary(active, END) is None
    assert drawn_id == outside


def test_the_global_holdout_comes_first_and_keeps_the_rules_outcome() -> None:
    active = policy(holdout=HOLDOUT)
    held_robo = first_id(
        lambda i: (
            holdout_assignment(active.holdout, i) is not None
            and getattr(drawn_arm(active.experiments[0], i), "name", None) == "robo"
        )
    )
    wanted = wanted_outcome(plain_c(held_robo), active, NOW)
    assert (wanted.flow, wanted.priority, wanted.rule) == (Flow.COMMUNITY, Priority.NORMAL, "default")
    assert wanted.experiment is not None
    assert (wanted.experiment.experiment, wanted.experiment.arm) == ("programme-holdout", HOLDOUT_ARM)
    assert wanted.experiment.assignment_probability == pytest.approx(0.1)
    assert "holdout" in [code for code, _, _ in wanted.reasons]


def test_a_new_arm_is_news_and_the_same_arm_is_not() -> None:
    without, active = policy(experiments=[]), policy(holdout=HOLDOUT)
    control_id = first_id(
        lambda i: (
            holdout_assignment(active.holdout, i) is None
            and getattr(drawn_arm(active.experiments[0], i), "name", None) == "control"
        )
    )
    state = plain_c(control_id)
    first = settle(
        state, wanted_outcome(state, without, NOW), advisor_id=None, policy_version="v0", at=NOW, caused_by=None
    )
    state.route = first.route
    assert first.new and first.route.experiment is None
    enrolled = settle(
        state, wanted_outcome(state, active, NOW), advisor_id=None, policy_version="v1", at=NOW, caused_by=None
    )
    assert enrolled.new, "the same flow in a new arm is a new decision: it carries the assignment"
    assert enrolled.route.flow == first.route.flow and enrolled.route.experiment is not None
    state.route = enrolled.route
    again = settle(
        state, wanted_outcome(state, active, NOW), advisor_id=None, policy_version="v2", at=NOW, caused_by=None
    )
    assert not again.new and again.route.experiment == enrolled.route.experiment


# --- validation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("experiments", "holdout", "message"),
    [
        ([{**ROBO_FOR_C, "population": {"rules": ["nope"]}}], None, "population names unknown rules ['nope']"),
        (
            [{**ROBO_FOR_C, "arms": [{"name": "a", "weight": 1}, {"name": "a", "weight": 1}]}],
            None,
            "arm names must be unique",
        ),
        ([{**ROBO_FOR_C, "arms": [{"name": "a", "weight": 1}, {"name": "holdout", "weight": 1}]}], None, "reserved"),
        ([{**ROBO_FOR_C, "arms": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1, "flow": "x"}]}], None, "flow"),
        (
            [{**ROBO_FOR_C, "arms": [{"name": "a", "weight": 1}, {"name": "b", "weight": 0}]}],
            None,
            "greater than or equal to 1",
        ),
        ([{**ROBO_FOR_C, "arms": [{"name": "a", "weight": 1}]}], None, "at least 2 items"),
        ([{**ROBO_FOR_C, "end": START.isoformat()}], None, "`end` must be after `start`"),
        ([{**ROBO_FOR_C, "population": {"share": 0}}], None, "greater than 0"),
        ([ROBO_FOR_C, ROBO_FOR_C], None, "ids must be unique"),
        ([{**ROBO_FOR_C, "salt": "programme-holdout-1"}], HOLDOUT, "own salt"),
        ([], {**HOLDOUT, "share": 0.6}, "less than or equal to 0.5"),
        ([{**ROBO_FOR_C, "start": "2026-12-01T00:00:00"}], None, "timezone"),
    ],
)
def test_invalid_experiments_are_refused(experiments: list[dict[str, Any]], holdout: Any, message: str) -> None:
    with pytest.raises(RoutingPolicyError, match=r"experiments|holdout|<policy>") as refused:
        policy(experiments=experiments, holdout=holdout)
    assert message in str(refused.value)


# --- locking --------------------------------------------------------------------------------------------------------


def test_locked_terms_of_stored_experiments_and_holdouts_cannot_change() -> None:
    stored = policy(holdout=HOLDOUT)
    assert locked_changes(stored, [stored]) == []
    # the window and the description may change (stopping early, extending)
    later = policy(
        experiments=[{**ROBO_FOR_C, "end": "2027-06-01T00:00:00+00:00", "description": "x"}], holdout=HOLDOUT
    )
    assert locked_changes(later, [stored]) == []
    # removing an experiment stops it; that is no change of its terms
    assert locked_changes(policy(experiments=[]), [stored]) == []
    reweighted = {**ROBO_FOR_C, "arms": [{**ROBO_FOR_C["arms"][0], "weight": 2}, ROBO_FOR_C["arms"][1]]}
    assert locked_changes(policy(experiments=[reweighted]), [stored]) == [
        "robo-for-c-2026q4 (stored in version routing-exp-1) changes arms"
    ]
    assert locked_changes(policy(experiments=[{**ROBO_FOR_C, "salt": "s2"}]), [stored]) == [
        "robo-for-c-2026q4 (stored in version routing-exp-1) changes salt"
    ]
    widened = {**ROBO_FOR_C, "population": {**ROBO_FOR_C["population"], "share": 1.0}}
    assert locked_changes(policy(experiments=[widened]), [stored]) == [
        "robo-for-c-2026q4 (stored in version routing-exp-1) changes population"
    ]
    assert locked_changes(policy(holdout={**HOLDOUT, "share": 0.2}), [stored]) == [
        "programme-holdout (stored in version routing-exp-1) changes share"
    ]
    as_experiment = {**ROBO_FOR_C, "id": "programme-holdout", "salt": "other"}
    assert locked_changes(policy(experiments=[as_experiment]), [stored]) == [
        "programme-holdout (stored in version routing-exp-1) was the holdout and is now an experiment"
    ]
