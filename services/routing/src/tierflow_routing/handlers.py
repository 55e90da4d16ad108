"""How each input event type changes what routing knows of a customer: HANDLERS maps event classes to functions.

A handler takes the customer's state and one event, applies it when it is news (a newer version) and
returns the moment to decide at; None when the event is stale (redelivered, duplicated or overtaken).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tierflow_common.events import ProfileUpdated, ScoreChanged
from tierflow_routing.domain.advisors import held_advisor
from tierflow_routing.domain.facts import CustomerState, ProfileFacts, ScoreFacts

DIGITAL_CHANNELS = ("app", "web", "mini_program")


def profile_facts(event: ProfileUpdated) -> ProfileFacts:
    """The figures routing uses from a published profile."""
    p = event.payload
    by_channel = {c.value: v for c, v in p.engagement.by_channel.items()}
    accepted = sum(n for outcome, n in p.engagement.contacts_90d_by_outcome.items() if outcome.value == "accepted")
    return ProfileFacts(
        profile_version=p.version,
        age_band=None if p.master.age_band is None else p.master.age_band.value,
        investor_type=None if p.master.investor_type is None else p.master.investor_type.value,
        risk_level=None if p.master.risk_level is None else p.master.risk_level.value,
        region=p.master.region,
        consents=p.master.consents.model_dump(),
        closed=p.master.closed,
        digital_logins_30d=sum(by_channel[c].logins_30d for c in DIGITAL_CHANNELS if c in by_channel),
        branch_logins_30d=by_channel["branch_terminal"].logins_30d if "branch_terminal" in by_channel else 0,
        community_accepted_90d=accepted,
        total_assets=p.assets.total_assets,
        commission_12m=p.contribution.commission_12m,
        trades_90d=p.trading.trades_90d,
        last_trade_at=p.trading.last_trade_at,
        last_login_at=p.engagement.last_login_at,
        computed_at=p.computed_at,
        net_inflow_30d=p.assets.net_inflow_30d,
        net_inflow_90d=p.assets.net_inflow_90d,
        total_assets_90d_ago=p.assets.total_assets_90d_ago,
        last_nps=p.engagement.last_nps,
    )


def score_facts(event: ScoreChanged) -> ScoreFacts:
    """The figures routing uses from a score change."""
    s = event.payload
    return ScoreFacts(
        score_version=s.version,
        tier=s.tier.value,
        churn_band=None if s.churn_band is None else s.churn_band.value,
        churn_score=s.churn_score,
        p_alive=s.p_alive,
        value_score=s.value_score,
        signals=list(s.signals),
        reasons=[(r.code, r.contribution, r.detail) for r in s.reasons],
        churn_reasons=[(r.code, r.contribution, r.detail) for r in s.churn_reasons],
        policy_version=s.policy_version,
        model_version=s.model_version,
        decided_at=s.decided_at,
        event_id=str(event.event_id),
    )


def take_profile(state: CustomerState, event: ProfileUpdated) -> datetime | None:
    """A newer profile version replaces the facts; decide at its computed_at."""
    if event.payload.version <= state.profile.profile_version:
        return None
    state.profile = profile_facts(event)
    return event.payload.computed_at


def take_score(state: CustomerState, event: ScoreChanged) -> datetime | None:
    """A newer score version replaces the score; decide at its decided_at."""
    if event.payload.version <= state.score.score_version:
        return None
    if state.advisor_tier is None and held_advisor(state.route) is not None:
        state.advisor_tier = state.score.tier  # the place was counted under the tier before this score
    state.score = score_facts(event)
    return event.payload.decided_at


Handler = Callable[[CustomerState, Any], datetime | None]

HANDLERS: dict[type, Handler] = {
    ProfileUpdated: take_profile,
    ScoreChanged: take_score,
}
