"""The tier state machine: entry and exit thresholds, immediate promotions, held-back demotions.

Pure: `evaluate_tier(state, inputs, policy, at)` returns the new state and the reasons.

- Dormancy first: no trade for `no_trade_days` (counted from the last trade, or from the first
  time the customer was seen if they never traded) makes the customer D at that exact moment,
  whatever the assets.
- Promotions (and leaving D) are immediate.
- A customer stays in a tier while they meet its *exit* thresholds (the hysteresis band).
- Below the exit thresholds a demotion becomes pending, towards the highest lower tier whose exit
  thresholds they meet. It takes effect at the later of (tier_since + min_days_in_tier) and
  (pending_since + grace), where the grace is short when money left (net outflow covers
  `outflow_share` of the fall in assets) and long when the assets fell with the market.
- Back above the exit thresholds before that moment, the pending demotion is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from tierflow_common.events.outputs import Reason, Tier
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.policy import Dimension, Thresholds, TierPolicy

RANK = {Tier.D: 0, Tier.C: 1, Tier.B: 2, Tier.A: 3}


@dataclass(frozen=True, slots=True)
class Pending:
    tier: Tier
    cause: str  # outflow | market_movement | activity
    since: datetime
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class TierState:
    """What the state machine remembers between evaluations."""

    tier: Tier | None = None
    tier_since: datetime | None = None
    pending: Pending | None = None


@dataclass(frozen=True, slots=True)
class TierOutcome:
    state: TierState
    reasons: tuple[Reason, ...]
    value_score: float
    next_review_at: datetime | None


def _money(value: Decimal | float) -> str:
    return f"{value:,.2f}"


def value_score(inputs: ScoringInputs, policy: TierPolicy) -> float:
    """Weighted value: each dimension scores min(1, figure / scale)."""
    total = 0.0
    for spec in policy.dimensions.values():
        ratio = inputs.figure(spec.source) / spec.scale
        total += spec.weight * float(min(Decimal(1), max(Decimal(0), ratio)))
    return round(total, 6)


def _met(thresholds: Thresholds, inputs: ScoringInputs, policy: TierPolicy, score: float) -> list[str]:
    """The names of the thresholds met (any one is enough)."""
    met = []
    strict = policy.compare == "more_than"
    for name, bound in thresholds.bounds().items():
        if name == "value_score":
            value: Decimal | float = score
        else:
            value = inputs.figure(policy.dimensions[Dimension(name)].source)
        if (value > bound) if strict else (value >= bound):
            met.append(name)
    return met


def _entry_tier(inputs: ScoringInputs, policy: TierPolicy, score: float) -> tuple[Tier, list[str]]:
    for rule in policy.tiers:
        met = _met(rule.enter, inputs, policy, score)
        if met:
            return rule.tier, met
    return Tier.C, []


def _held_tier(inputs: ScoringInputs, policy: TierPolicy, score: float, below: Tier) -> Tier:
    """The highest tier under `below` whose exit thresholds the customer still meets (C at least)."""
    for rule in policy.tiers:
        if RANK[rule.tier] < RANK[below] and _met(rule.exit, inputs, policy, score):
            return rule.tier
    return Tier.C


def demotion_cause(inputs: ScoringInputs, policy: TierPolicy) -> str:
    """Why the customer fell below the exit thresholds: money leaving, the market, or less activity."""
    before, now = inputs.total_assets_90d_ago, inputs.total_assets
    if before is None or now is None or now >= before:
        return "activity"
    fall = before - now
    outflow = -inputs.net_inflow_90d if inputs.net_inflow_90d < 0 else Decimal(0)
    return "outflow" if outflow >= fall * Decimal(str(policy.hysteresis.outflow_share)) else "market_movement"


def _reasons_for(
    tier: Tier, met: list[str], inputs: ScoringInputs, policy: TierPolicy, score: float, held: bool
) -> tuple[Reason, ...]:
    rule = policy.rule(tier)
    if rule is None:
        b = policy.rule(Tier.B)
        assert b is not None
        bounds = ", ".join(f"{name} < {_money(bound)}" for name, bound in b.enter.bounds().items())
        return (Reason(code="below_B_entry", contribution=1.0, detail=f"below every B entry threshold: {bounds}"),)
    share = 1.0 / max(1, len(met))
    thresholds = rule.exit if held else rule.enter
    reasons = []
    for name in met:
        value: Decimal | float = (
            score if name == "value_score" else inputs.figure(policy.dimensions[Dimension(name)].source)
        )
        bound = thresholds.bounds()[name]
        if held:
            code = f"{name}_held_above_{tier.value}_exit"
            detail = f"{name} {_money(value)} is below {tier.value} entry but above exit {_money(bound)} (hysteresis)"
        else:
            code = f"{name}_above_{tier.value}_entry"
            detail = f"{name} {_money(value)} >= {tier.value} entry {_money(bound)}"
        reasons.append(Reason(code=_short(code), contribution=share, detail=detail))
    return tuple(reasons)


def _short(code: str) -> str:
    # Stable, readable codes: asset_scale_above_A_entry -> assets_above_A_entry (as DOMAIN.md writes them).
    return (
        code.replace("asset_scale", "assets")
        .replace("contribution", "commission")
        .replace("trading_activity", "activity")
    )


def evaluate_tier(state: TierState, inputs: ScoringInputs, policy: TierPolicy, at: datetime) -> TierOutcome:
    """The customer's tier at `at`, and when time alone could change it next."""
    score = value_score(inputs, policy)
    silent_since = inputs.last_trade_at or inputs.first_seen_at
    dormant_at = silent_since + timedelta(days=policy.dormancy.no_trade_days)
    if at >= dormant_at:
        code = "no_trade_90d" if inputs.last_trade_at else "never_traded_90d"
        if policy.dormancy.no_trade_days != 90:
            code = code.replace("90d", f"{policy.dormancy.no_trade_days}d")
        days = (at - silent_since).days
        reason = Reason(
            code=code,
            contribution=1.0,
            detail=f"no trade for {days} days (dormant from day {policy.dormancy.no_trade_days})",
        )
        since = state.tier_since if state.tier is Tier.D and state.tier_since else at
        return TierOutcome(TierState(Tier.D, since, None), (reason,), score, None)

    entry, met = _entry_tier(inputs, policy, score)
    current = state.tier
    if current is None or current is Tier.D or RANK[entry] > RANK[current]:
        return TierOutcome(
            TierState(entry, at, None), _reasons_for(entry, met, inputs, policy, score, False), score, dormant_at
        )
    if entry is current:
        reasons = _reasons_for(current, met, inputs, policy, score, False)
        return TierOutcome(replace(state, pending=None), reasons, score, dormant_at)
    rule = policy.rule(current)
    assert rule is not None  # C cannot be above its entry tier
    held = _met(rule.exit, inputs, policy, score)
    if held:
        reasons = _reasons_for(current, held, inputs, policy, score, True)
        return TierOutcome(replace(state, pending=None), reasons, score, dormant_at)

    target = _held_tier(inputs, policy, score, current)
    cause = demotion_cause(inputs, policy)
    pending = state.pending
    since = pending.since if pending is not None and pending.tier is target else at
    rules = policy.hysteresis
    grace = rules.market_grace_days if cause == "market_movement" else rules.outflow_grace_days
    assert state.tier_since is not None
    earliest_by_tenure = state.tier_since + timedelta(days=rules.min_days_in_tier)
    effective = max(earliest_by_tenure, since + timedelta(days=grace))
    what = cause.replace("_", " ")
    if at >= effective:
        demoted = Reason(
            code=f"demoted_from_{current.value}_{cause}",
            contribution=0.0,
            detail=f"below {current.value} exit thresholds since {since:%Y-%m-%d} ({what}); "
            f"demoted after {rules.min_days_in_tier} days in tier and a {grace}-day grace",
        )
        landing = _landing_reasons(target, inputs, policy, score)
        return TierOutcome(TierState(target, at, None), (*landing, demoted), score, dormant_at)
    waiting = Pending(tier=target, cause=cause, since=since, effective_at=effective)
    reason = Reason(
        code=f"demotion_pending_{cause}",
        contribution=1.0,
        detail=f"below {current.value} exit thresholds since {since:%Y-%m-%d} ({what}); "
        f"moves to {target.value} on {effective:%Y-%m-%d} unless it recovers",
    )
    return TierOutcome(TierState(current, state.tier_since, waiting), (reason,), score, min(dormant_at, effective))


def _landing_reasons(target: Tier, inputs: ScoringInputs, policy: TierPolicy, score: float) -> tuple[Reason, ...]:
    """Why the customer belongs to the tier a demotion lands in (entry met, or held by its exit)."""
    rule = policy.rule(target)
    if rule is None:
        return _reasons_for(Tier.C, [], inputs, policy, score, False)
    entered = _met(rule.enter, inputs, policy, score)
    if entered:
        return _reasons_for(target, entered, inputs, policy, score, False)
    return _reasons_for(target, _met(rule.exit, inputs, policy, score), inputs, policy, score, True)
