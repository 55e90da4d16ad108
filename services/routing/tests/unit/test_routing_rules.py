"""The routing rule engine under the shipped default policy, and what makes a decision news."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tierflow_common.events.outputs import Flow, Priority
from tierflow_routing.domain.decision import settle, wanted_outcome
from tierflow_routing.domain.facts import CustomerState, Override, ProfileFacts, ScoreFacts
from tierflow_routing.domain.policy import (
    DEFAULT_ROUTING_POLICY_FILE,
    RoutingPolicyError,
    load_routing_policy,
    parse_routing_policy,
)

POLICY = load_routing_policy(DEFAULT_ROUTING_POLICY_FILE)
NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def customer(tier: str, band: str = "low", **profile: object) -> CustomerState:
    facts: dict[str, object] = {"consents": {"data_for_advice": True}, "digital_logins_30d": 1, "age_band": "30_44"}
    facts.update(profile)
    return CustomerState(
        customer_id="C1",
        profile=ProfileFacts(profile_version=1, **facts),  # type: ignore[arg-type]
        score=ScoreFacts(score_version=1, tier=tier, churn_band=band),
    )


@pytest.mark.parametrize(
    ("state", "flow", "priority", "rule"),
    [
        (customer("A", "high"), Flow.PRIVATE_ADVISOR, Priority.URGENT, "a_at_risk_retention"),
        (customer("A"), Flow.PRIVATE_ADVISOR, Priority.NORMAL, "a_private_advisor"),
        (customer("D"), Flow.REACTIVATION, Priority.NORMAL, "dormant_reactivation"),
        (customer("D", "high"), Flow.REACTIVATION, Priority.NORMAL, "dormant_reactivation"),
        (customer("B"), Flow.ROBO_ADVISOR, Priority.NORMAL, "b_robo_advisor"),
        (customer("B", "high"), Flow.ROBO_ADVISOR, Priority.HIGH, "b_at_risk"),
        (customer("C", digital_logins_30d=12), Flow.ROBO_ADVISOR, Priority.NORMAL, "c_digital_robo"),
        (
            customer("C", digital_logins_30d=12, community_accepted_90d=2),
            Flow.COMMUNITY,
            Priority.NORMAL,
            "c_community_engaged",
        ),
        (customer("C"), Flow.COMMUNITY, Priority.NORMAL, "default"),
        (customer("C", "high"), Flow.REACTIVATION, Priority.HIGH, "c_at_risk_win_back"),
        (customer("C", age_band="60_plus", digital_logins_30d=0), Flow.COMMUNITY, Priority.NORMAL, "elderly_offline"),
        (customer("B", age_band="60_plus", digital_logins_30d=0), Flow.COMMUNITY, Priority.NORMAL, "elderly_offline"),
        (customer("B", consents={"data_for_advice": False}), Flow.COMMUNITY, Priority.NORMAL, "no_consent_for_advice"),
    ],
)
def test_the_default_policy_follows_the_domain(state: CustomerState, flow: Flow, priority: Priority, rule: str) -> None:
    wanted = wanted_outcome(state, POLICY, NOW)
    assert (wanted.flow, wanted.priority, wanted.rule) == (flow, priority, rule)
    assert wanted.reasons[0][0] == f"rule_{rule}"


def test_an_a_customer_at_high_risk_gets_a_retention_alert_not_a_win_back() -> None:
    wanted = wanted_outcome(customer("A", "high"), POLICY, NOW)
    assert wanted.flow is not Flow.REACTIVATION
    assert "retention_alert" in [code for code, _, _ in wanted.reasons]


def test_an_elderly_customer_who_never_uses_the_app_is_not_sent_to_a_digital_flow() -> None:
    for tier in ("B", "C"):
        wanted = wanted_outcome(customer(tier, age_band="60_plus", digital_logins_30d=0), POLICY, NOW)
        assert wanted.flow is not Flow.ROBO_ADVISOR


def test_a_staff_override_wins_until_it_expires() -> None:
    state = customer("D")
    state.override = Override(
        flow="community",
        priority="high",
        reason="asked to stop win-back calls",
        created_by="ops1",
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )
    assert wanted_outcome(state, POLICY, NOW).rule == "staff_override"
    assert wanted_outcome(state, POLICY, NOW + timedelta(days=7)).rule == "dormant_reactivation"


def test_a_closed_account_leaves_every_flow() -> None:
    wanted = wanted_outcome(customer("A", closed=True), POLICY, NOW)
    assert not wanted.active and wanted.reasons[0][0] == "account_closed"


def test_no_free_advisor_means_robo_advisor_and_the_reason_says_so() -> None:
    state = customer("A")
    settled = settle(
        state, wanted_outcome(state, POLICY, NOW), advisor_id=None, policy_version="p", at=NOW, caused_by=None
    )
    assert settled.new and settled.route.flow == "robo_advisor"
    assert "advisor_capacity_exhausted" in [code for code, _, _ in settled.route.reasons]


def test_a_decision_is_news_only_when_flow_advisor_or_priority_change() -> None:
    state = customer("A")
    first = settle(
        state, wanted_outcome(state, POLICY, NOW), advisor_id="ADV1", policy_version="p", at=NOW, caused_by="e1"
    )
    state.route = first.route
    again = settle(
        state, wanted_outcome(state, POLICY, NOW), advisor_id="ADV1", policy_version="p", at=NOW, caused_by="e2"
    )
    assert first.new and not again.new and again.route.decision_id == first.route.decision_id
    state.score = ScoreFacts(score_version=2, tier="A", churn_band="high")
    urgent = settle(
        state, wanted_outcome(state, POLICY, NOW), advisor_id="ADV1", policy_version="p", at=NOW, caused_by="e3"
    )
    assert urgent.new and urgent.route.priority == "urgent"
    assert urgent.route.supersedes == first.route.decision_id and urgent.route.version == 2


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            "version: x1\nrules:\n  - name: a\n    when: {tier: [A]}\n    then: {flow: community}\n",
            "must be the default",
        ),
        (
            "version: x1\nrules:\n  - name: d\n    then: {flow: community}\n  - name: d\n    then: {flow: community}\n",
            "rule names must be unique",
        ),
        ("version: x1\nrules:\n  - name: d\n    then: {flow: teleport}\n", "rules.0.then.flow"),
        (
            "version: x1\nrules:\n  - name: a\n    when: {tier: [Z]}\n    then: {flow: community}\n"
            "  - name: d\n    then: {flow: community}\n",
            "rules.0.when.tier.0",
        ),
        (
            "version: x1\nrules:\n  - name: a\n    when: {mood: happy}\n    then: {flow: community}\n"
            "  - name: d\n    then: {flow: community}\n",
            "rules.0.when.mood: Extra inputs are not permitted",
        ),
        ("rules: [", "not valid YAML"),
    ],
)
def test_an_invalid_policy_is_rejected_precisely(document: str, problem: str) -> None:
    with pytest.raises(RoutingPolicyError, match=problem):
        parse_routing_policy(document)
