"""The churn model: BG/NBD P(alive), behavioural risk signals, a score in [0, 1] and a band. Pure.

BG/NBD (Fader, Hardie & Lee 2005): with a customer's repeat-transaction count x, time of the
last repeat t_x and age T (time since the first transaction),

    P(alive | x, t_x, T) = 1 / (1 + [x > 0] * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))

computed in log space exactly as the `lifetimes` package does. A customer with no repeat
transaction (x = 0) is alive with probability 1 by construction; for them dormancy (tier D) and
the behavioural signals carry the risk.

P(alive) only falls as T grows, and the T at which it reaches a level p has a closed form:

    T(p) = (alpha + t_x) * ((1/p - 1) * (b + x - 1) / a) ** (1 / (r + x)) - alpha

which gives the moment the churn band will change with no new event (`next_review_at`).

A model with a fitted `logistic` part (domain/churn_logistic.py) scores with it instead of the hand-set
weights: the score is then the probability of becoming dormant or closing within 90 days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tierflow_common.calendar import day_of, day_start
from tierflow_common.events.outputs import ChurnBand, Reason
from tierflow_scoring.domain.churn_logistic import (
    FEATURES,
    LogisticChurn,
    churn_features,
    first_crossing,
    login_gap_days,
    logit,
)
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.policy import ChurnPolicy

DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0}
HORIZON_DAYS = 3650
"""A band change further away than this is not scheduled (the customer will have other events)."""


@dataclass(frozen=True, slots=True)
class ChurnModel:
    """Fitted BG/NBD population parameters, in a time unit (days or weeks)."""

    version: str
    r: float
    alpha: float
    a: float
    b: float
    time_unit: str = "days"
    logistic: LogisticChurn | None = None
    """The learned score over the signals and 1 - P(alive); None: the policy's hand-set weights."""


REFERENCE_MODEL = ChurnModel(version="cdnow-reference", r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="weeks")
"""The published CDNOW parameters (weeks): the default until a model is fitted on this firm's data."""


def p_alive(model: ChurnModel, x: int, t_x: float, T: float) -> float:
    """BG/NBD P(alive), identical to lifetimes' conditional_probability_alive."""
    if x == 0:
        return 1.0
    log_div = (model.r + x) * math.log((model.alpha + T) / (model.alpha + t_x)) + math.log(
        model.a / (model.b + max(x, 1) - 1)
    )
    # expit(-log_div) without overflow for large log_div
    if log_div > 0:
        z = math.exp(-log_div)
        return z / (1.0 + z)
    return 1.0 / (1.0 + math.exp(log_div))


def age_at_level(model: ChurnModel, x: int, t_x: float, level: float) -> float | None:
    """The age T at which P(alive) falls to `level` (None when it never does: x = 0, or level >= 1)."""
    if x == 0 or not 0.0 < level < 1.0:
        return None
    k = model.a / (model.b + x - 1)
    return (model.alpha + t_x) * math.pow(((1.0 / level) - 1.0) / k, 1.0 / (model.r + x)) - model.alpha


@dataclass(frozen=True, slots=True)
class ChurnOutcome:
    p_alive: float | None
    score: float
    band: ChurnBand
    reasons: tuple[Reason, ...]
    signals: tuple[str, ...]
    next_review_at: datetime | None


def _model_age(inputs: ScoringInputs, model: ChurnModel, at: datetime) -> tuple[int, float, float] | None:
    """(x, t_x, T) in the model's unit, T at `at` (daily periods from the first trading day)."""
    if inputs.repeat_x is None or inputs.first_trade_at is None or inputs.repeat_t_x is None:
        return None
    unit = DAYS_PER_UNIT[model.time_unit]
    first = day_of(inputs.first_trade_at)
    t_days = max(day_of(at) - first, inputs.repeat_t_x)
    return inputs.repeat_x, inputs.repeat_t_x / unit, t_days / unit


def _signals(inputs: ScoringInputs, policy: ChurnPolicy, at: datetime) -> list[tuple[str, float, str]]:
    """(code, weight, detail) of each behavioural signal that is on."""
    rules, weights = policy.rules, policy.weights
    on: list[tuple[str, float, str]] = []
    last_seen = inputs.last_login_at or inputs.first_seen_at
    gap = (at - last_seen).days
    if gap >= rules.login_gap_days:
        on.append(("login_gap", weights.login_gap, f"no login for {gap} days (signal from {rules.login_gap_days})"))
    before = inputs.total_assets_90d_ago or inputs.total_assets
    if inputs.net_inflow_90d < 0 and before:
        share = -inputs.net_inflow_90d / before
        if share >= Decimal(str(rules.net_outflow_share)):
            on.append(
                (
                    "net_outflow_90d",
                    weights.net_outflow,
                    f"net outflow {-inputs.net_inflow_90d:,.2f} over 90 days = {share:.0%} of assets",
                )
            )
    if inputs.complaints_open > 0:
        on.append(("complaint_open", weights.complaint_open, f"{inputs.complaints_open} complaint(s) not resolved"))
    if inputs.complaints_90d >= rules.complaints_repeated_90d:
        on.append(
            ("complaints_repeated_90d", weights.complaints_repeated, f"{inputs.complaints_90d} complaints in 90 days")
        )
    if inputs.last_nps is not None and inputs.last_nps <= rules.nps_detractor_max:
        on.append(("nps_detractor", weights.nps_detractor, f"last NPS answer {inputs.last_nps} (detractor)"))
    if inputs.unanswered_outbound_streak >= rules.unanswered_outbound_min:
        on.append(
            (
                "outbound_unanswered",
                weights.unanswered_outbound,
                f"{inputs.unanswered_outbound_streak} outbound contacts unanswered in a row",
            )
        )
    monthly = inputs.trades_365d / 12
    if monthly >= rules.trading_drop_min_monthly and inputs.trades_30d < rules.trading_drop_ratio * monthly:
        on.append(
            (
                "trading_drop",
                weights.trading_drop,
                f"{inputs.trades_30d} trades in 30 days vs {monthly:.1f} a month over the year",
            )
        )
    return on


def _band(score: float, policy: ChurnPolicy) -> ChurnBand:
    if score >= policy.bands.high:
        return ChurnBand.HIGH
    if score >= policy.bands.medium:
        return ChurnBand.MEDIUM
    return ChurnBand.LOW


def evaluate_churn(inputs: ScoringInputs, policy: ChurnPolicy, model: ChurnModel, at: datetime) -> ChurnOutcome:
    """P(alive), the churn score (sum of weighted terms, capped at 1, or the learned probability), the band, and
    the next band change."""
    if model.logistic is not None:
        return _evaluate_logistic(inputs, policy, model, model.logistic, at)
    weights = policy.weights
    age = _model_age(inputs, model, at)
    alive = None if age is None else p_alive(model, *age)
    terms: list[tuple[str, float, str]] = []
    if alive is not None and age is not None and age[0] > 0:
        terms.append(
            (
                "p_alive_low",
                weights.not_alive * (1.0 - alive),
                f"P(alive) {alive:.2f} (BG/NBD, {age[0]} repeat trading days, model {model.version})",
            )
        )
    signals = _signals(inputs, policy, at)
    terms += signals
    raw = sum(weight for _, weight, _ in terms)
    score = min(1.0, raw)
    scale = score / raw if raw > 0 else 0.0
    reasons = tuple(
        Reason(code=code, contribution=round(weight * scale, 6), detail=detail)
        for code, weight, detail in terms
        if weight > 0
    )
    if alive is not None and age is not None and age[0] == 0:
        reasons += (
            Reason(
                code="no_repeat_trades",
                contribution=0.0,
                detail="one trading day so far: BG/NBD gives P(alive) = 1; dormancy and signals carry the risk",
            ),
        )
    band = _band(score, policy)
    return ChurnOutcome(
        p_alive=None if alive is None else round(alive, 12),
        score=round(score, 6),
        band=band,
        reasons=reasons,
        signals=tuple(code for code, _, _ in signals),
        next_review_at=_next_band_change(inputs, policy, model, at, score, signals),
    )


def _next_band_change(
    inputs: ScoringInputs,
    policy: ChurnPolicy,
    model: ChurnModel,
    at: datetime,
    score: float,
    signals: list[tuple[str, float, str]],
) -> datetime | None:
    """The first moment time alone moves the score across a band threshold (or a signal switches on)."""
    moments: list[datetime] = []
    # The login gap switches on after login_gap_days of silence.
    if not any(code == "login_gap" for code, _, _ in signals):
        last_seen = inputs.last_login_at or inputs.first_seen_at
        moments.append(last_seen + timedelta(days=policy.rules.login_gap_days))
    # P(alive) falls as T grows: find the day its term lifts the score over the next threshold.
    age = _model_age(inputs, model, at)
    if age is not None and age[0] > 0 and policy.weights.not_alive > 0 and inputs.first_trade_at is not None:
        others = sum(weight for _, weight, _ in signals)
        for threshold in (policy.bands.medium, policy.bands.high):
            if score >= threshold:
                continue
            level = 1.0 - (threshold - others) / policy.weights.not_alive
            t_level = age_at_level(model, age[0], age[1], level) if level > 0 else None
            if t_level is None:
                continue
            first_day = day_of(inputs.first_trade_at)
            days = t_level * DAYS_PER_UNIT[model.time_unit]
            if not math.isfinite(days) or first_day + days > day_of(at) + HORIZON_DAYS:
                break
            moment = day_start(first_day + max(math.ceil(days - 1e-9), 0))
            moments.append(max(moment, at))
            break
    future = [m for m in moments if m > at]
    return min(future) if future else None


def _not_alive(inputs: ScoringInputs, model: ChurnModel, at: datetime) -> tuple[float | None, float]:
    """(P(alive) or None, the `p_alive_low` feature: 1 - P(alive), 0 with no repeat trading day)."""
    age = _model_age(inputs, model, at)
    alive = None if age is None else p_alive(model, *age)
    return alive, 0.0 if alive is None or age is None or age[0] == 0 else 1.0 - alive


def features_at(inputs: ScoringInputs, policy: ChurnPolicy, model: ChurnModel, at: datetime) -> tuple[float, ...]:
    """The learned model's features of a customer at `at` (FEATURES order): what observations record."""
    _, not_alive = _not_alive(inputs, model, at)
    return churn_features(inputs, policy.rules, not_alive, login_gap_days(inputs, at))


def _evaluate_logistic(
    inputs: ScoringInputs, policy: ChurnPolicy, model: ChurnModel, logistic: LogisticChurn, at: datetime
) -> ChurnOutcome:
    """The learned score: reasons share the rise above the intercept's probability by their log-odds terms."""
    alive, not_alive = _not_alive(inputs, model, at)
    features = churn_features(inputs, policy.rules, not_alive, login_gap_days(inputs, at))
    score = logistic.probability(features)
    weighted = zip(FEATURES, logistic.coefficients, features, strict=True)
    terms = [(code, c * x, x) for code, c, x in weighted if c * x > 0]
    rise = max(0.0, score - logistic.probability(tuple(0.0 for _ in FEATURES)))
    total = sum(t for _, t, _ in terms)
    reasons = tuple(
        Reason(
            code=code,
            contribution=round(rise * t / total, 6),
            detail=f"{code} {x:.3g}{'' if alive is None or code != 'p_alive_low' else f' (P(alive) {alive:.2f})'}: "
            f"+{t:.2f} log-odds (learned model {model.version})",
        )
        for code, t, x in terms
    )
    signals = _signals(inputs, policy, at)
    return ChurnOutcome(
        p_alive=None if alive is None else round(alive, 12),
        score=round(score, 6),
        band=_band(score, policy),
        reasons=reasons,
        signals=tuple(code for code, _, _ in signals),
        next_review_at=_next_logistic_change(inputs, policy, model, logistic, at, score),
    )


def _next_logistic_change(
    inputs: ScoringInputs, policy: ChurnPolicy, model: ChurnModel, logistic: LogisticChurn, at: datetime, score: float
) -> datetime | None:
    """The first day start at which silence alone lifts the learned score over the next band's threshold."""
    thresholds = [t for t in (policy.bands.medium, policy.bands.high) if score < t < 1.0]
    if not thresholds:
        return None
    today = day_of(at)

    def log_odds(days_ahead: int) -> float:
        moment = at if days_ahead == 0 else day_start(today + days_ahead)
        return logistic.log_odds(features_at(inputs, policy, model, moment))

    days = first_crossing(log_odds, logit(thresholds[0]), HORIZON_DAYS)
    return None if days is None else max(day_start(today + days), at)
