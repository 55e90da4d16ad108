"""Ground truth for the backtest: a log whose policy randomised flows with known probabilities (the real hash) and
whose outcomes were drawn with known rates per action; the IPW estimate of a candidate recovers its true rate.

One draw under a fixed seed each: a 95% interval misses the truth one time in twenty, so the seed is fixed,
not searched for (the estimates sit well inside their intervals here).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

from tierflow_common.events.outputs import HOLDOUT_ARM
from tierflow_routing.domain.backtest import Action, Backtest, LoggedDecision, backtest
from tierflow_routing.domain.decision import wanted_outcome
from tierflow_routing.domain.facts import CustomerState, PolicyFacts, ProfileFacts, ScoreFacts
from tierflow_routing.domain.policy import RoutingPolicy, parse_routing_policy

NOW = datetime(2027, 2, 1, tzinfo=UTC)
RULES = """
rules:
  - name: a_private
    when: {tier: [A]}
    then: {flow: private_advisor}
  - name: default
    then: {flow: %s}
"""
# Plain C customers: half stay in community (control), a quarter go robo, a quarter to a high-priority win-back;
# 10% of everyone is held out. A customers are never randomised (private advisor, or held out).
LOGGING = parse_routing_policy(
    "version: log-gt\n"
    + RULES % "community"
    + """
holdout: {id: programme-holdout, salt: gt-holdout, share: 0.1}
experiments:
  - id: c-flows
    salt: gt-c-flows
    population: {rules: [default], when: {tier: [C]}}
    arms:
      - {name: control, weight: 2}
      - {name: robo, weight: 1, flow: robo_advisor}
      - {name: win_back, weight: 1, flow: reactivation, priority: high}
"""
)
# The true 30-day return rate of each action.
TRUE_RATE = {
    Action("community", "normal"): 0.30,
    Action("community", "normal", True): 0.26,  # held out: no outreach
    Action("robo_advisor", "normal"): 0.38,
    Action("reactivation", "high"): 0.45,
    Action("private_advisor", "normal"): 0.60,
    Action("private_advisor", "normal", True): 0.55,
}
C_CUSTOMERS, A_CUSTOMERS = 20_000, 2_000


def candidate(version: str, default: str, extra: str = "") -> RoutingPolicy:
    return parse_routing_policy(f"version: {version}\n" + RULES % default + extra)


def simulated_log(seed: int = 19) -> list[LoggedDecision]:
    """Every customer decided once by the logging policy (wanted_outcome: the real hash), outcomes drawn."""
    rng = random.Random(seed)
    log = []
    for n in range(C_CUSTOMERS + A_CUSTOMERS):
        customer_id = f"G{n:06d}"
        state = CustomerState(
            customer_id, profile=ProfileFacts(region="east"), score=ScoreFacts(tier="C" if n < C_CUSTOMERS else "A")
        )
        wanted = wanted_outcome(state, LOGGING, NOW)
        held = wanted.experiment is not None and wanted.experiment.arm == HOLDOUT_ARM
        action = Action(wanted.flow.value, wanted.priority.value, held)
        returned = float(rng.random() < TRUE_RATE[action])
        log.append(
            LoggedDecision(
                str(uuid.uuid4()),
                customer_id,
                NOW,
                LOGGING.version,
                wanted.rule,
                action,
                wanted.experiment,
                PolicyFacts.of(state.profile, state.score),
                {"returned": returned},
            )
        )
    return log


LOG = simulated_log()


def run(policy: RoutingPolicy) -> Backtest:
    return backtest(LOG, candidate=policy, logging_policies={LOGGING.version: LOGGING})


def truth(c_rate: float, a_rate: float = TRUE_RATE[Action("private_advisor", "normal")]) -> float:
    return (C_CUSTOMERS * c_rate + A_CUSTOMERS * a_rate) / (C_CUSTOMERS + A_CUSTOMERS)


def test_a_candidate_that_always_picks_one_flow_recovers_that_flows_true_rate() -> None:
    for flow, rate in (("robo_advisor", 0.38), ("community", 0.30)):
        result = run(candidate(f"always-{flow}", flow))
        assert result.unsupported == () and result.skipped == {}
        (e,) = result.estimates
        want = truth(rate)
        assert e.ipw.interval.low < want < e.ipw.interval.high, (flow, e.ipw, want)
        assert e.snipw is not None and e.snipw.interval.low < want < e.snipw.interval.high, (flow, e.snipw, want)
        assert abs(e.ipw.value - want) < 0.02
    # The logged mean is the logging policy's own value (its mix of actions), which the candidate's interval
    # excludes: the backtest tells the two apart.
    (robo,) = run(candidate("always-robo", "robo_advisor")).estimates
    held, experiment = 0.1, 0.5 * 0.30 + 0.25 * 0.38 + 0.25 * 0.45
    logging_value = truth(held * 0.26 + (1 - held) * experiment, held * 0.55 + (1 - held) * 0.60)
    assert abs(robo.logged - logging_value) < 0.01
    assert not robo.ipw.interval.low < logging_value < robo.ipw.interval.high


def test_a_randomising_candidate_is_weighed_by_its_arms_shares() -> None:
    half = """
experiments:
  - id: c-half-robo
    salt: another-salt
    population: {rules: [default], when: {tier: [C]}}
    arms:
      - {name: control, weight: 1}
      - {name: win_back, weight: 1, flow: reactivation, priority: high}
"""
    (e,) = run(candidate("half-win-back", "community", half)).estimates
    want = truth(0.5 * 0.30 + 0.5 * 0.45)
    assert e.ipw.interval.low < want < e.ipw.interval.high
    assert e.effective_sample_size < e.n  # weights of 2 and 0 (and 1/0.9 for A): fewer effective decisions


def test_a_flow_the_log_never_randomised_into_is_refused_or_estimated_on_the_supported_part_only() -> None:
    result = run(candidate("c-private", "private_advisor"))  # C customers to advisors: never logged for them
    gaps = {(g.candidate_rule, g.candidate_action, g.logged_action): g.decisions for g in result.unsupported}
    assert set(gaps) == {
        ("default", "private_advisor/normal", "community/normal"),
        ("default", "private_advisor/normal", "community/normal (held out)"),
        ("default", "private_advisor/normal", "robo_advisor/normal"),
        ("default", "private_advisor/normal", "reactivation/high"),
    }
    assert sum(gaps.values()) == result.unsupported_decisions == C_CUSTOMERS
    (e,) = result.estimates  # the supported part: the A customers, who keep their advisor
    assert e.n == A_CUSTOMERS and e.ipw.interval.low < 0.60 < e.ipw.interval.high
