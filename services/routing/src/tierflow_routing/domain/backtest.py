"""Backtesting a candidate routing policy on logged decisions: inverse propensity weighting. Pure.

The **action** of a decision is what the policy chose: `(flow, priority, held_out, playbook)` (`playbook`: the
arm's notification playbook, None for the flow's own). `held_out` is true in the
global holdout (same flow and priority, but no marketing outreach, so a different treatment). The advisor is
not part of it (it follows from capacity), and a private_advisor choice that fell back to robo_advisor for
want of a free advisor is the policy's private_advisor (the fallback is part of what that choice leads to).

A policy's **choice distribution** for the facts of a decision (domain/facts.PolicyFacts, kept in the log):
the first matching rule's action; in the global holdout (probability `holdout.share`) that action held out;
otherwise, in the first running experiment whose population matches, each arm's action with the arm's share
(`arm_share`: weight over total weight, times the population share) and the rule's action with the rest.
The hash is the randomisation: each customer's bucket is uniform, so these are the probabilities.

For a logged decision `i` with action `a_i`, facts `x_i` and outcome `y_i`, logged under policy `p` (its
own stored version, at its own time) and evaluated for the candidate `pi` (its experiments taken as
running, whatever their start and end: the question is what the candidate does, not when):

    w_i = pi(a_i | x_i) / p(a_i | x_i)
    IPW    V = mean(w_i * y_i)                      se = sd(w_i * y_i) / sqrt(n)
    SNIPW  V = sum(w_i * y_i) / sum(w_i)            se = sqrt(sum(u_i^2) / (n (n - 1))) / mean(w),
                                                     u_i = w_i (y_i - V)   (the delta method)
    ESS    = sum(w_i)^2 / sum(w_i^2)

Intervals are `V +- z * se`, a normal approximation over the per-decision terms (95% by default): sound
when n is large and the weights are not dominated by a few decisions (compare ESS with n). Each decision
counts as independent; several decisions of one customer are not, so the intervals are then too narrow.

**Support**: a decision where the candidate puts probability on an action the logging policy gave
probability 0 has no support: nothing logged says what that action leads to. Such decisions are counted per
(candidate rule, candidate action, logged action); estimates are only made on the supported ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from statistics import NormalDist

from tierflow_routing.domain.decision import experiment_for, first_match
from tierflow_routing.domain.experiments import arm_share, drawn_arm, exact_share, holdout_assignment
from tierflow_routing.domain.facts import Assignment, CustomerState, PolicyFacts
from tierflow_routing.domain.outcomes import Outcome
from tierflow_routing.domain.policy import Arm, Experiment, RoutingPolicy, Rule

DEFAULT_CONFIDENCE = 0.95
# The outcomes estimated, from a matured window (domain/outcomes.Outcome); `returned` = traded or logged in.
OUTCOMES: tuple[str, ...] = (
    "returned",
    "traded_again",
    "logged_in",
    "kept_or_regained_tier",
    "became_dormant",
    "closed",
    "churn_band_up",
    "churn_band_down",
    "net_inflow",
)


@dataclass(frozen=True, slots=True, order=True)
class Action:
    """What a routing policy chooses for a decision (see the module's docstring)."""

    flow: str
    priority: str
    held_out: bool = False
    playbook: str | None = None

    def label(self) -> str:
        playbook = "" if self.playbook is None else f" [{self.playbook}]"
        return f"{self.flow}/{self.priority}{playbook}" + (" (held out)" if self.held_out else "")


Distribution = dict[Action, Fraction]


def outcome_values(result: Outcome) -> dict[str, float | None]:
    """Each estimated outcome as a number (1/0 for events, CNY for net_inflow); None where it is unknown."""
    band = result.churn_band_moved
    return {
        "returned": float(result.traded_again or result.logged_in),
        "traded_again": float(result.traded_again),
        "logged_in": float(result.logged_in),
        "kept_or_regained_tier": float(result.kept_or_regained_tier),
        "became_dormant": float(result.became_dormant),
        "closed": float(result.closed),
        "churn_band_up": None if band is None else float(band == "up"),
        "churn_band_down": None if band is None else float(band == "down"),
        "net_inflow": None if result.net_inflow is None else float(result.net_inflow),
    }


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One decision of the log with what the backtest needs; `facts` None when it was not kept."""

    decision_id: str
    customer_id: str
    decided_at: datetime
    policy_version: str
    rule: str
    action: Action
    """as the policy chose it (a capacity fallback to robo_advisor undone)"""
    experiment: Assignment | None
    facts: PolicyFacts | None
    outcomes: Mapping[str, float | None]


def _with_rule(rule: Rule, arm: Arm | None = None, *, held: bool = False) -> Action:
    """The rule's action, as the arm changes it (flow, priority, playbook), or held out."""
    if arm is None:
        return Action(rule.then.flow.value, rule.then.priority.value, held)
    flow = arm.flow.value if arm.flow is not None else rule.then.flow.value
    priority = arm.priority.value if arm.priority is not None else rule.then.priority.value
    return Action(flow, priority, held, arm.playbook)


def timeless(policy: RoutingPolicy) -> RoutingPolicy:
    """The policy with every experiment running at any time (how a candidate is evaluated on past decisions)."""
    experiments = [e.model_copy(update={"start": None, "end": None}) for e in policy.experiments]
    return policy.model_copy(update={"experiments": experiments})


class ChoiceModel:
    """A policy's choice distribution for kept facts, computed once per (rule, experiment) it leads to."""

    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy
        self._known: dict[tuple[str, str | None], Distribution] = {}

    def choose(self, facts: PolicyFacts, *, at: datetime, customer_id: str = "") -> tuple[Rule, Distribution]:
        """The matching rule and the probability of each action (experiments running at `at`)."""
        policy = self.policy
        state = CustomerState(customer_id=customer_id, profile=facts.profile(), score=facts.score())
        rule = first_match(policy, state.profile, state.score)
        experiment = experiment_for(policy, state, rule, at)
        key = (rule.name, None if experiment is None else experiment.id)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = _distribution(policy, rule, experiment)
        return rule, known


def _distribution(policy: RoutingPolicy, rule: Rule, experiment: Experiment | None) -> Distribution:
    base = _with_rule(rule)
    shares: Distribution = {base: Fraction(1)}
    if experiment is not None:
        shares[base] = 1 - exact_share(experiment.population.share)
        for arm in experiment.arms:
            action = _with_rule(rule, arm)
            shares[action] = shares.get(action, Fraction(0)) + arm_share(experiment, arm)
    if policy.holdout is not None:  # an independent draw, before any experiment: the rule's action held out
        held = exact_share(policy.holdout.share)
        shares = {action: p * (1 - held) for action, p in shares.items()}
        shares[_with_rule(rule, held=True)] = held
    return {action: p for action, p in shares.items() if p > 0}


def reproduces(policy: RoutingPolicy, decision: LoggedDecision) -> bool:
    """Whether the logging policy, on the kept facts, gives the logged rule, action and arm (the hash decides)."""
    assert decision.facts is not None
    state = CustomerState(decision.customer_id, profile=decision.facts.profile(), score=decision.facts.score())
    rule = first_match(policy, state.profile, state.score)
    held = holdout_assignment(policy.holdout, decision.customer_id)
    action, arm_name = _with_rule(rule, held=held is not None), None if held is None else held.arm
    experiment_id = None if held is None else held.experiment
    if held is None:
        experiment = experiment_for(policy, state, rule, decision.decided_at)
        arm = None if experiment is None else drawn_arm(experiment, decision.customer_id)
        if experiment is not None and arm is not None:
            action = _with_rule(rule, arm)
            experiment_id, arm_name = experiment.id, arm.name
    logged = decision.experiment
    logged_arm = (None, None) if logged is None else (logged.experiment, logged.arm)
    return (rule.name, action, (experiment_id, arm_name)) == (decision.rule, decision.action, logged_arm)


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Estimate:
    """A value with its standard error and normal-approximation interval."""

    value: float
    standard_error: float
    interval: Interval


@dataclass(frozen=True, slots=True)
class OutcomeEstimate:
    """One outcome: the logged mean, and the candidate's IPW and self-normalised estimates over `n` decisions."""

    outcome: str
    n: int
    logged: float
    ipw: Estimate
    snipw: Estimate | None
    """None when every weight is 0 (the candidate chose none of the logged actions)"""
    effective_sample_size: float


def _estimate(value: float, standard_error: float, z: float, confidence: float) -> Estimate:
    return Estimate(value, standard_error, Interval(value - z * standard_error, value + z * standard_error, confidence))


@dataclass(slots=True)
class OutcomeSums:
    """Running sums of one outcome's (weight, value) pairs: all the estimates need, in constant memory."""

    n: int = 0
    y: float = 0.0
    w: float = 0.0
    ww: float = 0.0
    wy: float = 0.0
    wwy: float = 0.0
    wwyy: float = 0.0

    def add(self, weight: float, value: float) -> None:
        self.n += 1
        self.y += value
        self.w += weight
        self.ww += weight * weight
        self.wy += weight * value
        self.wwy += weight * weight * value
        self.wwyy += (weight * value) ** 2

    def estimate(self, outcome: str, *, confidence: float = DEFAULT_CONFIDENCE) -> OutcomeEstimate | None:
        """The estimates (formulas in the module's docstring); None without decisions."""
        n = self.n
        if n == 0:
            return None
        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        ipw = self.wy / n
        # sum((w*y - ipw)^2) and sum(w^2 (y - snipw)^2) from the sums; max() drops rounding below zero
        ipw_square = max(self.wwyy - n * ipw * ipw, 0.0)
        ipw_se = math.sqrt(ipw_square / (n - 1) / n) if n > 1 else math.inf
        snipw = None
        if self.w > 0:
            value = self.wy / self.w
            residual = max(self.wwyy - 2 * value * self.wwy + value * value * self.ww, 0.0)
            se = math.sqrt(residual / (n * (n - 1))) / (self.w / n) if n > 1 else math.inf
            snipw = _estimate(value, se, z, confidence)
        ess = self.w * self.w / self.ww if self.ww > 0 else 0.0
        return OutcomeEstimate(outcome, n, self.y / n, _estimate(ipw, ipw_se, z, confidence), snipw, ess)


def estimate_outcome(
    outcome: str, weights: Iterable[float], values: Iterable[float], *, confidence: float = DEFAULT_CONFIDENCE
) -> OutcomeEstimate | None:
    """The IPW and SNIPW estimates of the candidate's mean of `values`, given each decision's weight."""
    sums = OutcomeSums()
    for weight, value in zip(weights, values, strict=True):
        sums.add(weight, value)
    return sums.estimate(outcome, confidence=confidence)


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Decisions where the candidate's rule chooses an action the logging policy never took for them."""

    candidate_rule: str
    candidate_action: str
    logged_action: str
    decisions: int


NO_FACTS = "no facts kept (decided before migration 0007, by a staff override, or closed)"
UNKNOWN_VERSION = "logging policy version not stored"
NOT_REPRODUCED = "the logging policy does not reproduce the logged decision from its facts"


@dataclass(frozen=True, slots=True)
class Backtest:
    """The candidate's estimates over the supported decisions, and what was left out and why."""

    candidate: str
    decisions: int
    """decisions read (with a matured window)"""
    supported: int
    """decisions estimated on"""
    skipped: dict[str, int]
    unsupported: tuple[Unsupported, ...]
    mean_weight: float | None
    """about 1 when the candidate is supported everywhere; far from it, the estimates are not to be trusted"""
    estimates: tuple[OutcomeEstimate, ...]

    @property
    def unsupported_decisions(self) -> int:
        return self.decisions - self.supported - sum(self.skipped.values())


class Backtester:
    """Feeds logged decisions one at a time (a log of millions is streamed, not held), then gives the result."""

    def __init__(
        self,
        candidate: RoutingPolicy,
        logging_policies: Mapping[str, RoutingPolicy],
        *,
        confidence: float = DEFAULT_CONFIDENCE,
    ) -> None:
        self._version = candidate.version
        self._candidate = ChoiceModel(timeless(candidate))
        self._logging = {version: ChoiceModel(policy) for version, policy in logging_policies.items()}
        self._confidence = confidence
        self._read, self._supported, self._weight = 0, 0, 0.0
        self._skipped = Counter[str]()
        self._gaps = Counter[tuple[str, str, str]]()
        self._sums = {name: OutcomeSums() for name in OUTCOMES}

    def add(self, decision: LoggedDecision) -> None:
        """Weigh one decision: skip and count it, count it unsupported, or add it to the estimates."""
        self._read += 1
        logging = self._logging.get(decision.policy_version)
        if decision.facts is None:
            self._skipped[NO_FACTS] += 1
            return
        if logging is None:
            self._skipped[UNKNOWN_VERSION] += 1
            return
        if not reproduces(logging.policy, decision):
            self._skipped[NOT_REPRODUCED] += 1
            return
        _, logged = logging.choose(decision.facts, at=decision.decided_at, customer_id=decision.customer_id)
        rule, chosen = self._candidate.choose(decision.facts, at=decision.decided_at)
        missing = [action for action in chosen if action not in logged]
        for action in missing:
            self._gaps[(rule.name, action.label(), decision.action.label())] += 1
        if missing:
            return
        weight = float(chosen.get(decision.action, Fraction(0)) / logged[decision.action])
        self._supported += 1
        self._weight += weight
        for name, value in decision.outcomes.items():
            if value is not None and name in self._sums:
                self._sums[name].add(weight, value)

    def result(self) -> Backtest:
        """The estimates over the supported decisions so far, and the counts of the others."""
        estimates = [sums.estimate(name, confidence=self._confidence) for name, sums in self._sums.items()]
        return Backtest(
            candidate=self._version,
            decisions=self._read,
            supported=self._supported,
            skipped=dict(sorted(self._skipped.items())),
            unsupported=tuple(Unsupported(*key, count) for key, count in sorted(self._gaps.items())),
            mean_weight=self._weight / self._supported if self._supported else None,
            estimates=tuple(e for e in estimates if e is not None),
        )


def backtest(
    decisions: Iterable[LoggedDecision],
    *,
    candidate: RoutingPolicy,
    logging_policies: Mapping[str, RoutingPolicy],
    confidence: float = DEFAULT_CONFIDENCE,
) -> Backtest:
    """Estimate the candidate's outcome rates from logged decisions by inverse propensity weighting (Backtester)."""
    backtester = Backtester(candidate, logging_policies, confidence=confidence)
    for decision in decisions:
        backtester.add(decision)
    return backtester.result()
