"""The learned churn score: a logistic model over the behavioural signals and 1 - P(alive). Pure.

    score = sigmoid(intercept + sum(coefficient[f] * feature[f]))

is the probability of becoming dormant (tier D) or closing within 90 days (docs/churn-model.md). The
features are graded, not on/off, so a longer gap or a larger outflow counts for more:

| feature | value |
|---|---|
| `p_alive_low` | 1 - P(alive) (BG/NBD; 0 with no repeat trading day) |
| `login_gap` | ln(1 + whole days since the last login / 30) |
| `net_outflow_90d` | net outflow over 90 days over assets then, in [0, 1] |
| `complaint_open` | complaints not resolved, at most 5 |
| `complaints_repeated_90d` | complaints in 90 days, at most 10 |
| `nps_detractor` | 1 when the last NPS answer is a detractor's |
| `outbound_unanswered` | outbound contacts unanswered in a row, at most 10 |
| `trading_drop` | 1 - trades in 30 days / own monthly average, in [0, 1] (0 below the policy's baseline) |

Coefficients are never negative (a signal can only raise the risk). With the only time-driven features,
the login gap and 1 - P(alive), both growing with silence, the score only rises while nothing happens, so
the moment it crosses the next band is found by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.policy import SignalRules

FEATURES: tuple[str, ...] = (
    "p_alive_low",
    "login_gap",
    "net_outflow_90d",
    "complaint_open",
    "complaints_repeated_90d",
    "nps_detractor",
    "outbound_unanswered",
    "trading_drop",
)


@dataclass(frozen=True, slots=True)
class LogisticChurn:
    """A fitted logistic churn model: the intercept and one non-negative coefficient per feature."""

    intercept: float
    coefficients: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.coefficients) != len(FEATURES):
            raise ValueError(f"one coefficient per feature: {', '.join(FEATURES)}")
        if any(c < 0 or not math.isfinite(c) for c in self.coefficients) or not math.isfinite(self.intercept):
            raise ValueError("coefficients are finite and never negative (a signal only raises the risk)")

    @classmethod
    def from_mapping(cls, intercept: float, coefficients: Mapping[str, float]) -> LogisticChurn:
        unknown = set(coefficients) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features: {sorted(unknown)}")
        return cls(float(intercept), tuple(float(coefficients.get(f, 0.0)) for f in FEATURES))

    def as_mapping(self) -> dict[str, float]:
        return dict(zip(FEATURES, self.coefficients, strict=True))

    def log_odds(self, features: tuple[float, ...]) -> float:
        return self.intercept + sum(c * x for c, x in zip(self.coefficients, features, strict=True))

    def probability(self, features: tuple[float, ...]) -> float:
        return sigmoid(self.log_odds(features))


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z) without overflow."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def login_gap_days(inputs: ScoringInputs, at: datetime) -> float:
    """Whole days since the last login (or since the customer was first seen), never negative: like P(alive)'s
    age, the feature moves once a day, so two evaluations on the same day (a live run and its replay) agree."""
    last_seen = inputs.last_login_at or inputs.first_seen_at
    return float(max(0, (at - last_seen).days))


def outflow_share(inputs: ScoringInputs) -> float:
    """Net outflow over 90 days against the assets then (0 for an inflow or no assets), at most 1."""
    before = inputs.total_assets_90d_ago or inputs.total_assets
    if inputs.net_inflow_90d >= 0 or not before or before <= 0:
        return 0.0
    return min(1.0, float(-inputs.net_inflow_90d / Decimal(before)))


def trading_drop(inputs: ScoringInputs, rules: SignalRules) -> float:
    """How far the last 30 days fall below the customer's own monthly average (0 without a baseline)."""
    monthly = inputs.trades_365d / 12
    if monthly < rules.trading_drop_min_monthly:
        return 0.0
    return max(0.0, 1.0 - inputs.trades_30d / monthly)


def churn_features(inputs: ScoringInputs, rules: SignalRules, not_alive: float, gap_days: float) -> tuple[float, ...]:
    """The feature vector in `FEATURES` order; the two time-driven values come from the caller."""
    detractor = inputs.last_nps is not None and inputs.last_nps <= rules.nps_detractor_max
    return (
        not_alive,
        math.log1p(gap_days / 30),
        outflow_share(inputs),
        float(min(inputs.complaints_open, 5)),
        float(min(inputs.complaints_90d, 10)),
        1.0 if detractor else 0.0,
        float(min(inputs.unanswered_outbound_streak, 10)),
        trading_drop(inputs, rules),
    )


def first_crossing(log_odds_at: Callable[[int], float], target: float, horizon: int) -> int | None:
    """The least k in 1..horizon with log_odds_at(k) >= target (non-decreasing in k); None when there is none."""
    if log_odds_at(horizon) < target:
        return None
    low, high = 0, horizon  # log_odds_at(low) < target is known for low = 0 (the caller's present)
    while high - low > 1:
        middle = (low + high) // 2
        if log_odds_at(middle) >= target:
            high = middle
        else:
            low = middle
    return high
