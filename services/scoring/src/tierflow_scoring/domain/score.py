"""A customer's score over time: tier and churn together, when they are published, and catching up.

Evaluations happen at well-defined moments, never at "whenever the code ran":
- a new profile is evaluated at its `computed_at`;
- a time-driven change is evaluated at the `next_review_at` that announced it.
Before a profile is applied, every review due up to its time is applied first (`catch_up`). So
the decisions are a function of the profile log, the policy and the model only: a replay makes
the same decisions as the live run, whatever the sweeper's timing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec

from tierflow_common.events.outputs import ChurnBand, Reason, ReasonRow, Tier
from tierflow_scoring.domain.churn import ChurnModel, evaluate_churn
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.policy import TierPolicy
from tierflow_scoring.domain.tiering import Pending, TierState, evaluate_tier

MAX_CATCH_UP = 64


class ScoreState(msgspec.Struct, array_like=True):
    """What scoring remembers per customer (stored as MessagePack)."""

    customer_id: str
    version: int = 0
    tier: str | None = None
    tier_since: datetime | None = None
    pending: tuple[str, str, datetime, datetime] | None = None  # tier, cause, since, effective_at
    churn_band: str | None = None
    churn_score: float = 0.0
    p_alive: float | None = None
    value_score: float = 0.0
    reasons: list[ReasonRow] = []
    churn_reasons: list[ReasonRow] = []
    signals: list[str] = []
    closed: bool = False
    policy_version: str = ""
    model_version: str | None = None
    evaluated_at: datetime | None = None
    decided_at: datetime | None = None
    next_review_at: datetime | None = None
    inputs: ScoringInputs | None = None
    observed_month: int | None = None
    """The month (year * 12 + month - 1) of the last churn observation (domain/observations.py)."""


@dataclass(frozen=True, slots=True)
class Published:
    """A change worth announcing on tierflow.score.v1."""

    state: ScoreState
    previous_tier: Tier | None
    previous_band: ChurnBand | None
    caused_by_profile: bool


def _rows(reasons: tuple[Reason, ...]) -> list[ReasonRow]:
    return [(r.code, r.contribution, r.detail) for r in reasons]


def reasons_of(rows: list[ReasonRow]) -> list[Reason]:
    """Stored reason rows back as contract Reasons."""
    return [Reason(code=code, contribution=contribution, detail=detail) for code, contribution, detail in rows]


def accept_profile(state: ScoreState, inputs: ScoringInputs) -> bool:
    """Take a newer profile; False (nothing changes) for a stale or repeated profile version."""
    if state.inputs is not None and inputs.profile_version <= state.inputs.profile_version:
        return False
    state.inputs = inputs
    return True


def evaluate(
    state: ScoreState, policy: TierPolicy, model: ChurnModel, at: datetime, *, by_profile: bool
) -> Published | None:
    """Re-decide tier and churn at `at` (never before the last evaluation); the change, if publishable."""
    inputs = state.inputs
    assert inputs is not None
    if state.evaluated_at is not None and at < state.evaluated_at:
        at = state.evaluated_at
    tier_state = TierState(
        tier=None if state.tier is None else Tier(state.tier),
        tier_since=state.tier_since,
        pending=None if state.pending is None else Pending(Tier(state.pending[0]), *state.pending[1:]),
    )
    tier = evaluate_tier(tier_state, inputs, policy, at)
    churn = evaluate_churn(inputs, policy.churn, model, at)
    previous_tier = None if state.tier is None else Tier(state.tier)
    previous_band = None if state.churn_band is None else ChurnBand(state.churn_band)
    new = tier.state
    changed = (
        previous_tier is not new.tier
        or previous_band is not churn.band
        or state.policy_version != policy.version
        or state.model_version != model.version
        or state.closed != inputs.closed
    )
    assert new.tier is not None
    state.tier = new.tier.value
    state.tier_since = new.tier_since
    state.pending = (
        None
        if new.pending is None
        else (new.pending.tier.value, new.pending.cause, new.pending.since, new.pending.effective_at)
    )
    state.churn_band = churn.band.value
    state.churn_score = churn.score
    state.p_alive = churn.p_alive
    state.value_score = tier.value_score
    state.reasons = _rows(tier.reasons)
    state.churn_reasons = _rows(churn.reasons)
    state.signals = list(churn.signals)
    state.closed = inputs.closed
    state.evaluated_at = at
    reviews = [m for m in (tier.next_review_at, churn.next_review_at) if m is not None and m > at]
    state.next_review_at = min(reviews) if reviews else None
    if not changed:
        return None
    state.version += 1
    state.policy_version = policy.version
    state.model_version = model.version
    state.decided_at = at
    return Published(
        state=state, previous_tier=previous_tier, previous_band=previous_band, caused_by_profile=by_profile
    )


def catch_up(state: ScoreState, policy: TierPolicy, model: ChurnModel, until: datetime) -> list[Published]:
    """Apply every time-driven review due up to `until`, each at its own moment."""
    published: list[Published] = []
    for _ in range(MAX_CATCH_UP):
        due = state.next_review_at
        if state.inputs is None or due is None or due > until:
            break
        change = evaluate(state, policy, model, due, by_profile=False)
        if change is not None:
            published.append(_snapshot(change))
    return published


def _snapshot(change: Published) -> Published:
    """Freeze the state as published (later evaluations mutate the live one)."""
    frozen = msgspec.structs.replace(
        change.state,
        reasons=list(change.state.reasons),
        churn_reasons=list(change.state.churn_reasons),
        signals=list(change.state.signals),
    )
    return Published(frozen, change.previous_tier, change.previous_band, change.caused_by_profile)


def apply_profile(state: ScoreState, inputs: ScoringInputs, policy: TierPolicy, model: ChurnModel) -> list[Published]:
    """Catch up on time, then evaluate the newer profile at its computed_at; the changes to publish."""
    published = catch_up(state, policy, model, inputs.computed_at)
    if not accept_profile(state, inputs):
        return published
    change = evaluate(state, policy, model, inputs.computed_at, by_profile=True)
    if change is not None:
        published.append(_snapshot(change))
    return published
