"""A customer's score over time: catching up on time-driven reviews, and what is published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.policy import DEFAULT_POLICY_FILE, load_policy
from tierflow_scoring.domain.score import ScoreState, apply_profile, catch_up

POLICY = load_policy(DEFAULT_POLICY_FILE)
MODEL = ChurnModel(version="m1", r=0.5, alpha=20.0, a=0.6, b=3.0)
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def profile(version: int, at: datetime, assets: str, *, last_trade: datetime | None = None) -> ScoringInputs:
    return ScoringInputs(
        profile_version=version,
        computed_at=at,
        first_seen_at=T0 - timedelta(days=300),
        total_assets=Decimal(assets),
        first_trade_at=T0 - timedelta(days=200),
        last_trade_at=last_trade or at,
        last_login_at=at + timedelta(days=1000),  # keep the login-gap signal out of these tests
        repeat_x=30,
        repeat_t_x=200,
    )


def test_first_profile_publishes_and_a_same_tier_profile_does_not() -> None:
    state = ScoreState(customer_id="C1")
    first = apply_profile(state, profile(1, T0, "12000000"), POLICY, MODEL)
    assert [(p.state.tier, p.previous_tier, p.state.version) for p in first] == [("A", None, 1)]
    assert apply_profile(state, profile(2, T0 + timedelta(hours=1), "13000000"), POLICY, MODEL) == []
    assert apply_profile(state, profile(2, T0 + timedelta(hours=2), "1"), POLICY, MODEL) == []  # stale version


def test_dormancy_is_applied_at_its_moment_before_a_later_profile() -> None:
    state = ScoreState(customer_id="C1")
    apply_profile(state, profile(1, T0, "12000000", last_trade=T0), POLICY, MODEL)
    assert state.next_review_at is not None and state.next_review_at <= T0 + timedelta(days=90)
    later = T0 + timedelta(days=120)
    changes = apply_profile(state, profile(2, later, "12000000", last_trade=T0), POLICY, MODEL)
    dormant = [p for p in changes if p.state.tier == "D"]
    assert len(dormant) == 1 and dormant[0].state.decided_at == T0 + timedelta(days=90)
    assert not dormant[0].caused_by_profile


def test_the_sweeper_path_is_the_same_catch_up() -> None:
    live, replay = ScoreState(customer_id="C1"), ScoreState(customer_id="C1")
    for state in (live, replay):
        apply_profile(state, profile(1, T0, "6000000", last_trade=T0), POLICY, MODEL)
    # Live: the sweeper wakes up late and often; replay: once, much later. Same decisions.
    live_changes = []
    for hour in range(0, 24 * 100, 7):
        live_changes += catch_up(live, POLICY, MODEL, T0 + timedelta(hours=hour))
    replay_changes = catch_up(replay, POLICY, MODEL, T0 + timedelta(days=100))
    summary = lambda changes: [(p.state.tier, p.state.churn_band, p.state.decided_at) for p in changes]  # noqa: E731
    assert summary(live_changes) == summary(replay_changes)
    assert summary(live_changes)[-1][0] == "D"


def test_a_new_policy_version_is_published_even_without_a_tier_change() -> None:
    state = ScoreState(customer_id="C1")
    apply_profile(state, profile(1, T0, "12000000"), POLICY, MODEL)
    newer = POLICY.model_copy(update={"version": "default-2026.12"})
    changes = apply_profile(state, profile(2, T0 + timedelta(hours=1), "12000000"), newer, MODEL)
    assert [(p.state.policy_version, p.state.version) for p in changes] == [("default-2026.12", 2)]
