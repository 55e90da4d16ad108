"""The tier state machine under the shipped policies: boundaries, dormancy, hysteresis, demotion causes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tierflow_common.events.outputs import Tier
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.policy import DEFAULT_POLICY_FILE, SHIPPED, PolicyError, load_policy, parse_policy
from tierflow_scoring.domain.tiering import TierState, evaluate_tier

POLICY = load_policy(DEFAULT_POLICY_FILE)
LOWER = load_policy(SHIPPED / "lower_band.yaml")
WEIGHTED = load_policy(SHIPPED / "weighted_example.yaml")
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def inputs(
    assets: str | None = "0",
    commission: str = "0",
    *,
    at: datetime = T0,
    last_trade_days_ago: float | None = 1,
    assets_90d_ago: str | None = None,
    net_inflow_90d: str = "0",
) -> ScoringInputs:
    return ScoringInputs(
        profile_version=1,
        computed_at=at,
        first_seen_at=T0 - timedelta(days=400),
        total_assets=None if assets is None else Decimal(assets),
        total_assets_90d_ago=None if assets_90d_ago is None else Decimal(assets_90d_ago),
        net_inflow_90d=Decimal(net_inflow_90d),
        commission_12m=Decimal(commission),
        last_trade_at=None if last_trade_days_ago is None else at - timedelta(days=last_trade_days_ago),
    )


def tier_of(state: TierState, data: ScoringInputs, at: datetime = T0, policy=POLICY) -> TierState:  # type: ignore[no-untyped-def]
    return evaluate_tier(state, data, policy, at).state


@pytest.mark.parametrize(
    ("assets", "commission", "tier"),
    [
        ("10000000", "0", Tier.A),
        ("9999999.99", "0", Tier.B),
        ("0", "50000", Tier.A),
        ("0", "49999.99", Tier.B),
        ("5000000", "0", Tier.B),
        ("4999999.99", "0", Tier.C),
        ("0", "10000", Tier.B),
        ("0", "9999.99", Tier.C),
        (None, "0", Tier.C),
    ],
)
def test_entry_boundaries_of_the_default_policy(assets: str | None, commission: str, tier: Tier) -> None:
    assert tier_of(TierState(), inputs(assets, commission)).tier is tier


def test_dormant_exactly_at_day_90_whatever_the_assets() -> None:
    assert tier_of(TierState(), inputs("20000000", last_trade_days_ago=89.999)).tier is Tier.A
    outcome = evaluate_tier(TierState(), inputs("20000000", last_trade_days_ago=90), POLICY, T0)
    assert outcome.state.tier is Tier.D
    assert outcome.reasons[0].code == "no_trade_90d"


def test_the_dormancy_moment_is_announced_as_the_next_review() -> None:
    outcome = evaluate_tier(TierState(), inputs("100", last_trade_days_ago=10), POLICY, T0)
    assert outcome.next_review_at == T0 + timedelta(days=80)


def test_promotion_is_immediate_and_explained() -> None:
    c = tier_of(TierState(), inputs("100000"))
    promoted = evaluate_tier(c, inputs("12000000", "60000"), POLICY, T0 + timedelta(days=1))
    assert promoted.state.tier is Tier.A and promoted.state.tier_since == T0 + timedelta(days=1)
    assert [r.code for r in promoted.reasons] == ["assets_above_A_entry", "commission_above_A_entry"]
    assert sum(r.contribution or 0 for r in promoted.reasons) == pytest.approx(1.0)


def test_inside_the_hysteresis_band_the_tier_holds() -> None:
    a = tier_of(TierState(), inputs("10500000"))
    held = evaluate_tier(a, inputs("9200000"), POLICY, T0 + timedelta(days=60))
    assert held.state.tier is Tier.A and held.state.pending is None
    assert held.reasons[0].code == "assets_held_above_A_exit"


def test_money_leaving_demotes_after_the_minimum_time_in_tier() -> None:
    a = tier_of(TierState(), inputs("11000000"))
    drained = dict(assets="7000000", assets_90d_ago="11000000", net_inflow_90d="-3500000")
    day5 = T0 + timedelta(days=5)
    pending = evaluate_tier(a, inputs(**drained, at=day5), POLICY, day5)
    assert pending.state.tier is Tier.A
    assert pending.state.pending is not None and pending.state.pending.cause == "outflow"
    assert pending.next_review_at == T0 + timedelta(days=30)  # min time in tier beats the 7-day grace
    still = evaluate_tier(pending.state, inputs(**drained, at=day5), POLICY, T0 + timedelta(days=29))
    assert still.state.tier is Tier.A
    done = evaluate_tier(still.state, inputs(**drained, at=day5), POLICY, T0 + timedelta(days=30))
    assert done.state.tier is Tier.B
    assert done.reasons[-1].code == "demoted_from_A_outflow"


def test_a_market_fall_waits_longer_than_money_leaving() -> None:
    a = tier_of(TierState(), inputs("11000000"), T0 - timedelta(days=100))  # long in tier already
    market = dict(assets="7000000", assets_90d_ago="11000000", net_inflow_90d="0")
    pending = evaluate_tier(a, inputs(**market), POLICY, T0)
    assert pending.state.pending is not None and pending.state.pending.cause == "market_movement"
    assert pending.next_review_at == T0 + timedelta(days=30)
    outflow = dict(assets="7000000", assets_90d_ago="11000000", net_inflow_90d="-4000000")
    assert evaluate_tier(a, inputs(**outflow), POLICY, T0).next_review_at == T0 + timedelta(days=7)


def test_recovering_before_the_demotion_cancels_it() -> None:
    a = tier_of(TierState(), inputs("11000000"), T0 - timedelta(days=100))
    pending = evaluate_tier(a, inputs("8000000", assets_90d_ago="11000000"), POLICY, T0).state
    back = evaluate_tier(pending, inputs("9100000"), POLICY, T0 + timedelta(days=10)).state
    assert back.tier is Tier.A and back.pending is None
    again = evaluate_tier(back, inputs("8000000", assets_90d_ago="11000000"), POLICY, T0 + timedelta(days=11))
    assert again.state.pending is not None and again.state.pending.since == T0 + timedelta(days=11)


@pytest.mark.parametrize("low", ["9200000", "8700000"])
def test_assets_wobbling_around_the_threshold_never_flap(low: str) -> None:
    """Daily snapshots alternating below and above the A entry for four months: one tier change."""
    state, tiers = TierState(), []
    for day in range(120):
        assets = "10300000" if day % 2 == 0 else low
        at = T0 + timedelta(days=day)
        state = evaluate_tier(state, inputs(assets, at=at, assets_90d_ago="10300000"), POLICY, at).state
        tiers.append(state.tier)
    assert set(tiers) == {Tier.A}


def test_lower_band_policy_is_strict_at_one_million() -> None:
    assert tier_of(TierState(), inputs("1000000"), policy=LOWER).tier is Tier.B
    assert tier_of(TierState(), inputs("1000000.01"), policy=LOWER).tier is Tier.A
    assert tier_of(TierState(), inputs("300000"), policy=LOWER).tier is Tier.B
    assert tier_of(TierState(), inputs("299999.99"), policy=LOWER).tier is Tier.C


def test_a_weighted_value_score_policy_tiers_on_the_score() -> None:
    rich = evaluate_tier(TierState(), inputs("10000000", "0"), WEIGHTED, T0)
    assert rich.value_score == pytest.approx(0.6) and rich.state.tier is Tier.A
    assert rich.reasons[0].code == "value_score_above_A_entry"
    assert tier_of(TierState(), inputs("5000000", "0"), policy=WEIGHTED).tier is Tier.B


def test_an_invalid_policy_is_refused_with_every_problem_named() -> None:
    text = DEFAULT_POLICY_FILE.read_text().replace("exit: {asset_scale: 9000000", "exit: {asset_scale: 11000000")
    with pytest.raises(PolicyError, match=r"tiers\.0: Value error, tier A: exit asset_scale 11000000 is above enter"):
        parse_policy(text)
    with pytest.raises(PolicyError, match="weights must add up to 1"):
        parse_policy(DEFAULT_POLICY_FILE.read_text().replace("weight: 0.6", "weight: 0.7"))
    with pytest.raises(PolicyError, match="not valid YAML"):
        parse_policy("version: [unclosed")
