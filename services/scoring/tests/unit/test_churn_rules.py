"""Churn: P(alive) with the time unit, behavioural signals, the score, the band and when it changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tierflow_common.calendar import day_of, day_start
from tierflow_common.events.outputs import ChurnBand
from tierflow_scoring.domain.churn import REFERENCE_MODEL, ChurnModel, evaluate_churn, p_alive
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.policy import DEFAULT_POLICY_FILE, load_policy

CHURN = load_policy(DEFAULT_POLICY_FILE).churn
NOW = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
DAILY = ChurnModel(version="daily", r=0.5, alpha=20.0, a=0.6, b=3.0, time_unit="days")


def inputs(**overrides: object) -> ScoringInputs:
    values: dict[str, object] = dict(
        profile_version=1,
        computed_at=NOW,
        first_seen_at=NOW - timedelta(days=400),
        total_assets=Decimal("500000"),
        first_trade_at=NOW - timedelta(days=300),
        last_trade_at=NOW - timedelta(days=5),
        last_login_at=NOW - timedelta(days=1),
        repeat_x=20,
        repeat_t_x=295,
    )
    values.update(overrides)
    return ScoringInputs(**values)  # type: ignore[arg-type]


def test_an_active_customer_is_low_risk() -> None:
    outcome = evaluate_churn(inputs(), CHURN, DAILY, NOW)
    assert outcome.band is ChurnBand.LOW and outcome.signals == ()
    assert outcome.p_alive == pytest.approx(p_alive(DAILY, 20, 295, 300))


def test_the_model_time_unit_is_respected() -> None:
    weeks = evaluate_churn(inputs(), CHURN, REFERENCE_MODEL, NOW)
    assert weeks.p_alive == pytest.approx(p_alive(REFERENCE_MODEL, 20, 295 / 7, 300 / 7))


def test_no_repeat_trades_means_p_alive_one_and_the_signals_carry_the_risk() -> None:
    single = evaluate_churn(inputs(repeat_x=0, repeat_t_x=0, last_login_at=NOW - timedelta(days=90)), CHURN, DAILY, NOW)
    assert single.p_alive == 1.0
    assert [r.code for r in single.reasons] == ["login_gap", "no_repeat_trades"]
    assert single.score == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("overrides", "signal"),
    [
        ({"last_login_at": NOW - timedelta(days=61)}, "login_gap"),
        ({"total_assets_90d_ago": Decimal("1000000"), "net_inflow_90d": Decimal("-300000")}, "net_outflow_90d"),
        ({"complaints_open": 1}, "complaint_open"),
        ({"complaints_90d": 2}, "complaints_repeated_90d"),
        ({"last_nps": 6}, "nps_detractor"),
        ({"unanswered_outbound_streak": 3}, "outbound_unanswered"),
        ({"trades_365d": 48, "trades_30d": 1}, "trading_drop"),
    ],
)
def test_each_behavioural_signal(overrides: dict[str, object], signal: str) -> None:
    outcome = evaluate_churn(inputs(**overrides), CHURN, DAILY, NOW)
    assert signal in outcome.signals
    assert signal in [r.code for r in outcome.reasons]


def test_signals_add_up_and_contributions_explain_the_score() -> None:
    risky = inputs(
        last_login_at=NOW - timedelta(days=70),
        total_assets_90d_ago=Decimal("1000000"),
        net_inflow_90d=Decimal("-500000"),
        complaints_open=1,
        complaints_90d=3,
        last_nps=2,
        unanswered_outbound_streak=4,
    )
    outcome = evaluate_churn(risky, CHURN, DAILY, NOW)
    assert outcome.band is ChurnBand.HIGH
    assert sum(r.contribution or 0 for r in outcome.reasons) == pytest.approx(outcome.score)
    assert 0 <= outcome.score <= 1


def test_the_band_changes_on_the_announced_day_with_no_new_event() -> None:
    quiet = inputs(last_trade_at=NOW - timedelta(days=40), repeat_t_x=260, last_login_at=NOW + timedelta(days=400))
    outcome = evaluate_churn(quiet, CHURN, DAILY, NOW)
    assert outcome.band is ChurnBand.LOW and outcome.next_review_at is not None
    moment = outcome.next_review_at
    assert moment == day_start(day_of(moment))  # at a day boundary
    assert evaluate_churn(quiet, CHURN, DAILY, moment - timedelta(days=1)).band is ChurnBand.LOW
    assert evaluate_churn(quiet, CHURN, DAILY, moment).band is ChurnBand.MEDIUM


def test_a_band_change_decades_away_is_not_scheduled_and_does_not_overflow() -> None:
    sticky = ChurnModel(version="sticky", r=0.05, alpha=1.0, a=0.001, b=50.0, time_unit="days")
    outcome = evaluate_churn(inputs(repeat_x=1, repeat_t_x=0, last_login_at=NOW), CHURN, sticky, NOW)
    assert outcome.band is ChurnBand.LOW
    assert outcome.next_review_at == NOW + timedelta(days=60)  # only the login gap; P(alive) crosses in centuries
