"""Backtesting a policy (domain/backtest.py): choice distributions, support, and the estimators by hand."""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction
from types import SimpleNamespace

import msgspec
import pytest

from tierflow_common.events.outputs import HOLDOUT_ARM
from tierflow_routing.adapters.backtests import logged_decision
from tierflow_routing.domain.backtest import (
    NO_FACTS,
    NOT_REPRODUCED,
    UNKNOWN_VERSION,
    Action,
    ChoiceModel,
    LoggedDecision,
    backtest,
    estimate_outcome,
    outcome_values,
)
from tierflow_routing.domain.decision import first_match, wanted_outcome
from tierflow_routing.domain.experiments import drawn_arm, holdout_assignment
from tierflow_routing.domain.facts import CustomerState, PolicyFacts, ProfileFacts, ScoreFacts
from tierflow_routing.domain.outcomes import Outcome
from tierflow_routing.domain.policy import (
    DEFAULT_ROUTING_POLICY_FILE,
    RoutingPolicy,
    load_routing_policy,
    parse_routing_policy,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
RULES = """
rules:
  - name: a_private
    when: {tier: [A]}
    then: {flow: private_advisor}
  - name: default
    then: {flow: %s}
"""
EXPERIMENT = """
experiments:
  - id: robo-for-c
    salt: robo-for-c-salt
    population: {rules: [default], when: {tier: [C]}, share: %s}
    arms:
      - {name: control, weight: 1}
      - {name: robo, weight: 1, flow: robo_advisor}
"""
HOLDOUT = "holdout: {id: programme-holdout, salt: programme-holdout-salt, share: 0.1}\n"


def policy(
    version: str, *, default: str = "community", share: str | None = "1", holdout: bool = False
) -> RoutingPolicy:
    text = f"version: {version}\n" + RULES % default
    text += "" if share is None else EXPERIMENT % share
    return parse_routing_policy(text + (HOLDOUT if holdout else ""))


LOGGING = policy("log-1")
ROBO = policy("cand-robo", default="robo_advisor", share=None)  # A stays private; everyone else robo


def state(customer_id: str, tier: str = "C") -> CustomerState:
    return CustomerState(customer_id, profile=ProfileFacts(region="east"), score=ScoreFacts(tier=tier))


def logged(logging: RoutingPolicy, customer_id: str, returned: float | None, *, tier: str = "C") -> LoggedDecision:
    """A decision as routing makes it (wanted_outcome, the real hash), with its kept facts and one outcome."""
    s = state(customer_id, tier)
    wanted = wanted_outcome(s, logging, NOW)
    held = wanted.experiment is not None and wanted.experiment.arm == HOLDOUT_ARM
    return LoggedDecision(
        decision_id=str(uuid.uuid4()),
        customer_id=customer_id,
        decided_at=NOW,
        policy_version=logging.version,
        rule=wanted.rule,
        action=Action(wanted.flow.value, wanted.priority.value, held),
        experiment=wanted.experiment,
        facts=PolicyFacts.of(s.profile, s.score),
        outcomes={"returned": returned},
    )


def customers_in(arm: str, count: int, logging: RoutingPolicy = LOGGING) -> list[str]:
    found = []
    for n in range(10_000):
        customer_id = f"H{n:05d}"
        drawn = drawn_arm(logging.experiments[0], customer_id)
        if holdout_assignment(logging.holdout, customer_id) is None and drawn is not None and drawn.name == arm:
            found.append(customer_id)
        if len(found) == count:
            return found
    raise AssertionError(arm)


def test_the_kept_facts_are_small_round_trip_and_match_the_same_rule() -> None:
    default = load_routing_policy(DEFAULT_ROUTING_POLICY_FILE)
    profile = ProfileFacts(age_band="60_plus", region="east", consents={"data_for_advice": False}, digital_logins_30d=2)
    for tier in ("A", "B", "C", "D"):
        for band in ("low", "high"):
            score = ScoreFacts(tier=tier, churn_band=band, signals=["login_gap"], reasons=[("x", 1.0, "long " * 20)])
            kept = msgspec.msgpack.decode(msgspec.msgpack.encode(PolicyFacts.of(profile, score)), type=PolicyFacts)
            assert len(msgspec.msgpack.encode(kept)) < 100
            assert first_match(default, kept.profile(), kept.score()) == first_match(default, profile, score)


def test_the_estimators_by_hand() -> None:
    # weights 2, 0, 2, 0 and outcomes 1, 1, 0, 0: terms w*y = 2, 0, 0, 0
    e = estimate_outcome("returned", [2.0, 0.0, 2.0, 0.0], [1.0, 1.0, 0.0, 0.0])
    assert e is not None and e.n == 4 and e.logged == 0.5
    assert e.ipw.value == pytest.approx(0.5)
    assert e.ipw.standard_error == pytest.approx(0.5)  # sample variance of the terms 3/3 = 1, over n = 4
    assert e.ipw.interval.low == pytest.approx(0.5 - 1.959964 * 0.5, abs=1e-6)
    assert e.snipw is not None and e.snipw.value == pytest.approx(0.5)  # 2 / (2 + 0 + 2 + 0)
    # sum w^2 (y - 0.5)^2 = 4/4 + 4/4 = 2; sqrt(2 / (4 * 3)) / mean(w) 1
    assert e.snipw.standard_error == pytest.approx(math.sqrt(1 / 6))
    assert e.effective_sample_size == pytest.approx(2.0)  # 4^2 / 8
    assert estimate_outcome("returned", [], []) is None
    nothing = estimate_outcome("returned", [0.0, 0.0], [1.0, 0.0])
    assert nothing is not None and nothing.snipw is None and nothing.ipw.value == 0.0


def test_choice_distribution_with_the_holdout_and_a_half_enrolled_experiment() -> None:
    both = policy("log-2", share="0.5", holdout=True)
    rule, chosen = ChoiceModel(both).choose(PolicyFacts.of(ProfileFacts(), ScoreFacts(tier="C")), at=NOW)
    assert rule.name == "default"
    assert chosen == {
        Action("community", "normal", True): Fraction(1, 10),  # the holdout, before any experiment
        Action("community", "normal"): Fraction(9, 10) * (Fraction(1, 2) + Fraction(1, 4)),  # not enrolled, control
        Action("robo_advisor", "normal"): Fraction(9, 10) * Fraction(1, 4),
    }
    assert sum(chosen.values()) == 1
    _, a = ChoiceModel(both).choose(PolicyFacts.of(ProfileFacts(), ScoreFacts(tier="A")), at=NOW)
    assert a == {
        Action("private_advisor", "normal", True): Fraction(1, 10),
        Action("private_advisor", "normal"): Fraction(9, 10),
    }


def test_ipw_by_hand_on_four_logged_decisions() -> None:
    robo, control = customers_in("robo", 2), customers_in("control", 2)
    log = [logged(LOGGING, robo[0], 1.0), logged(LOGGING, robo[1], 0.0)]
    log += [logged(LOGGING, control[0], 1.0), logged(LOGGING, control[1], 1.0)]
    assert [d.action.flow for d in log] == ["robo_advisor", "robo_advisor", "community", "community"]
    result = backtest(log, candidate=ROBO, logging_policies={LOGGING.version: LOGGING})
    # each arm had p = 1/2; the candidate always takes robo: weights 2, 2, 0, 0
    (e,) = result.estimates
    assert (result.decisions, result.supported, result.unsupported, result.skipped) == (4, 4, (), {})
    assert result.mean_weight == 1.0
    assert (e.logged, e.ipw.value, e.snipw and e.snipw.value, e.effective_sample_size) == (0.75, 0.5, 0.5, 2.0)
    assert e.ipw.standard_error == pytest.approx(0.5)
    same = backtest(log, candidate=LOGGING, logging_policies={LOGGING.version: LOGGING})
    assert same.estimates[0].ipw.value == 0.75 and same.mean_weight == 1.0  # the logging policy: its own mean


def test_unsupported_choices_are_counted_per_rule_and_action_and_skips_per_reason() -> None:
    everyone_robo = parse_routing_policy("version: cand-2\nrules:\n  - name: default\n    then: {flow: robo_advisor}\n")
    log = [logged(LOGGING, "A1", 1.0, tier="A"), logged(LOGGING, "A2", 0.0, tier="A")]
    log += [logged(LOGGING, c, 1.0) for c in customers_in("control", 3)]
    log.append(replace(log[-1], facts=None))  # before migration 0007, or an override
    log.append(replace(log[-2], policy_version="gone"))
    log.append(replace(log[-3], action=Action("reactivation", "normal")))  # the facts do not give it
    result = backtest(log, candidate=everyone_robo, logging_policies={LOGGING.version: LOGGING})
    assert result.skipped == {NO_FACTS: 1, NOT_REPRODUCED: 1, UNKNOWN_VERSION: 1}
    assert [(g.candidate_rule, g.candidate_action, g.logged_action, g.decisions) for g in result.unsupported] == [
        ("default", "robo_advisor/normal", "private_advisor/normal", 2)
    ]
    assert (result.decisions, result.supported, result.unsupported_decisions) == (8, 3, 2)
    (e,) = result.estimates  # on the supported C decisions only: all control (community), weight 0 each
    assert e.n == 3 and e.ipw.value == 0.0 and e.snipw is None


def test_a_candidate_holdout_has_no_support_where_the_log_had_none() -> None:
    held = policy("cand-held", holdout=True)
    result = backtest(
        [logged(LOGGING, c, 1.0) for c in customers_in("control", 2)],
        candidate=held,
        logging_policies={LOGGING.version: LOGGING},
    )
    assert {(g.candidate_action, g.decisions) for g in result.unsupported} == {("community/normal (held out)", 2)}


def test_a_logged_row_undoes_the_capacity_fallback_and_reads_the_outcome() -> None:
    facts = msgspec.msgpack.encode(PolicyFacts.of(ProfileFacts(), ScoreFacts(tier="A")))
    outcome = Outcome(
        traded_again=False,
        logged_in=True,
        kept_or_regained_tier=True,
        became_dormant=False,
        closed=False,
        churn_band_moved=None,
        tier_at_end="A",
        churn_band_at_end=None,
        net_inflow=None,
    )
    row = SimpleNamespace(
        decision_id=uuid.uuid4(),
        customer_id="A1",
        decided_at=NOW,
        policy_version="log-1",
        rule="a_private",
        flow="robo_advisor",
        priority="normal",
        experiment={"experiment": "programme-holdout", "arm": "holdout", "assignment_probability": 0.1},
        facts=facts,
        capacity_fallback=True,
        outcome=msgspec.to_builtins(outcome),
    )
    decision = logged_decision(row)
    assert decision.action == Action("private_advisor", "normal", True)
    assert decision.facts is not None and decision.facts.tier == "A"
    assert decision.outcomes == outcome_values(outcome)
    assert decision.outcomes["returned"] == 1.0 and decision.outcomes["churn_band_up"] is None


def test_a_playbook_arm_is_its_own_action_and_a_candidate_needs_it_logged() -> None:
    arms = policy("log-pb").model_copy(deep=True)
    experiment = arms.experiments[0]
    experiment.arms[1] = experiment.arms[1].model_copy(update={"flow": None, "playbook": "community_short"})
    _, chosen = ChoiceModel(arms).choose(PolicyFacts.of(ProfileFacts(), ScoreFacts(tier="C")), at=NOW)
    assert chosen == {
        Action("community", "normal"): Fraction(1, 2),
        Action("community", "normal", playbook="community_short"): Fraction(1, 2),
    }
    # a log without the playbook arm gives the candidate's playbook choice no support
    _, plain = ChoiceModel(policy("log-plain", share=None)).choose(
        PolicyFacts.of(ProfileFacts(), ScoreFacts(tier="C")), at=NOW
    )
    assert Action("community", "normal", playbook="community_short") not in plain
