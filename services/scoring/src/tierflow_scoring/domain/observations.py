"""Churn observations: what the learned churn model is fitted on (docs/scoring.md, "The learned churn score").

Once a calendar month (UTC), the first evaluation of a customer who is neither dormant nor closed records
an observation: the learned model's features and the score in force at that moment. When the customer
later turns dormant (tier D) or closes, every observation of the 90 days before is labelled with that
moment. An observation matures 90 days after it was made; a matured observation without a label is a
customer who stayed. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tierflow_scoring.domain.churn import ChurnModel, features_at
from tierflow_scoring.domain.policy import ChurnPolicy
from tierflow_scoring.domain.score import Published, ScoreState

LABEL_WINDOW = timedelta(days=90)
DORMANT = "D"


@dataclass(frozen=True, slots=True)
class Recorded:
    """One observation as scoring stores it."""

    customer_id: str
    observed_at: datetime
    model_version: str
    features: tuple[float, ...]
    score: float


def month_of(at: datetime) -> int:
    return at.year * 12 + at.month - 1


def observe(state: ScoreState, policy: ChurnPolicy, model: ChurnModel) -> Recorded | None:
    """The month's observation of a customer just evaluated, when one is due; marks it taken in `state`."""
    at, inputs = state.evaluated_at, state.inputs
    if at is None or inputs is None or state.tier in (None, DORMANT) or state.closed:
        return None
    if state.observed_month == month_of(at):
        return None
    state.observed_month = month_of(at)
    return Recorded(
        customer_id=state.customer_id,
        observed_at=at,
        model_version=model.version,
        features=features_at(inputs, policy, model, at),
        score=state.churn_score,
    )


def churned_at(change: Published) -> datetime | None:
    """The moment a published change makes the customer dormant or closed (None when it does neither)."""
    state = change.state
    became_dormant = state.tier == DORMANT and (change.previous_tier is None or change.previous_tier.value != DORMANT)
    if became_dormant or state.closed:
        return state.decided_at
    return None
