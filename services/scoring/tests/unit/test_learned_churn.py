"""The learned churn score: the probability, its reasons, the next band change, the fit and its report, and
the monthly observations it learns from."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from tierflow_common.calendar import day_of, day_start
from tierflow_common.events.outputs import ChurnBand, Tier
from tierflow_scoring.domain.churn import ChurnModel, evaluate_churn, features_at
from tierflow_scoring.domain.churn_fitting import Observation, calibration, fit_churn, fit_logistic, held_out
from tierflow_scoring.domain.churn_logistic import FEATURES, LogisticChurn, sigmoid
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.model_file import SHIPPED_MODEL_FILE, load_model_file
from tierflow_scoring.domain.observations import churned_at, month_of, observe
from tierflow_scoring.domain.policy import DEFAULT_POLICY_FILE, load_policy
from tierflow_scoring.domain.score import Published, ScoreState

CHURN = load_policy(DEFAULT_POLICY_FILE).churn
NOW = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
LEARNED = LogisticChurn.from_mapping(
    -4.0, {"p_alive_low": 1.5, "login_gap": 1.2, "net_outflow_90d": 2.0, "complaint_open": 0.5, "nps_detractor": 0.8}
)
MODEL = ChurnModel(version="learned", r=0.5, alpha=20.0, a=0.6, b=3.0, time_unit="days", logistic=LEARNED)


def inputs(**overrides: object) -> ScoringInputs:
    values: dict[str, object] = dict(
        profile_version=1,
        computed_at=NOW,
        first_seen_at=NOW - timedelta(days=400),
        total_assets=Decimal("500000"),
        total_assets_90d_ago=Decimal("1000000"),
        net_inflow_90d=Decimal("-250000"),
        first_trade_at=NOW - timedelta(days=300),
        last_trade_at=NOW - timedelta(days=5),
        last_login_at=NOW - timedelta(days=45),
        complaints_open=1,
        last_nps=4,
        repeat_x=20,
        repeat_t_x=295,
    )
    values.update(overrides)
    return ScoringInputs(**values)  # type: ignore[arg-type]


def test_the_score_is_the_logistic_probability_of_the_features() -> None:
    outcome = evaluate_churn(inputs(), CHURN, MODEL, NOW)
    features = features_at(inputs(), CHURN, MODEL, NOW)
    assert features[FEATURES.index("login_gap")] == pytest.approx(math.log1p(45 / 30))
    assert features[FEATURES.index("net_outflow_90d")] == pytest.approx(0.25)
    assert features[FEATURES.index("nps_detractor")] == 1.0
    assert outcome.p_alive is not None
    assert features[FEATURES.index("p_alive_low")] == pytest.approx(1 - outcome.p_alive)
    z = -4.0 + 1.5 * (1 - outcome.p_alive) + 1.2 * math.log1p(1.5) + 2.0 * 0.25 + 0.5 + 0.8
    assert outcome.score == pytest.approx(sigmoid(z), abs=1e-6)
    # the reasons share the rise above the intercept's probability, in proportion to their log-odds terms
    contributions = {r.code: r.contribution for r in outcome.reasons}
    assert sum(c or 0 for c in contributions.values()) == pytest.approx(outcome.score - sigmoid(-4.0), abs=1e-5)
    assert set(contributions) == {"p_alive_low", "login_gap", "net_outflow_90d", "complaint_open", "nps_detractor"}
    assert contributions["net_outflow_90d"] == pytest.approx(
        (outcome.score - sigmoid(-4.0)) * 0.5 / (z + 4.0), abs=1e-5
    )


def test_the_bands_keep_their_thresholds_on_the_probability() -> None:
    calm = evaluate_churn(inputs(net_inflow_90d=Decimal(0), complaints_open=0, last_nps=9), CHURN, MODEL, NOW)
    assert calm.score < CHURN.bands.medium and calm.band is ChurnBand.LOW
    angry = inputs(last_login_at=NOW - timedelta(days=400), net_inflow_90d=Decimal("-900000"), complaints_open=3)
    worst = evaluate_churn(angry, CHURN, MODEL, NOW)
    assert worst.score >= CHURN.bands.high and worst.band is ChurnBand.HIGH


def test_silence_alone_moves_the_band_on_the_announced_day_and_not_the_day_before() -> None:
    quiet = inputs(last_login_at=NOW - timedelta(days=2))
    first = evaluate_churn(quiet, CHURN, MODEL, NOW)
    assert first.band is ChurnBand.LOW and first.next_review_at is not None
    review = first.next_review_at
    assert review == day_start(day_of(review))
    assert evaluate_churn(quiet, CHURN, MODEL, review).band is ChurnBand.MEDIUM
    assert evaluate_churn(quiet, CHURN, MODEL, review - timedelta(days=1)).band is ChurnBand.LOW


def test_a_model_without_a_time_driven_feature_schedules_nothing() -> None:
    static = replace(MODEL, logistic=LogisticChurn.from_mapping(-4.0, {"complaint_open": 0.5}))
    assert evaluate_churn(inputs(), CHURN, static, NOW).next_review_at is None


def test_coefficients_are_never_negative_and_features_are_known() -> None:
    with pytest.raises(ValueError, match="never negative"):
        LogisticChurn.from_mapping(-1.0, {"login_gap": -0.1})
    with pytest.raises(ValueError, match="unknown features"):
        LogisticChurn.from_mapping(-1.0, {"shoe_size": 1.0})


def synthetic(n: int, truth: np.ndarray, intercept: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = np.column_stack([rng.uniform(0, 1, n), rng.exponential(1.0, n), rng.integers(0, 2, n)])
    features = np.column_stack([features, np.zeros((n, len(FEATURES) - 3))])
    p = 1 / (1 + np.exp(-(intercept + features @ truth)))
    return features, (rng.uniform(0, 1, n) < p).astype(float)


def test_the_fit_recovers_known_coefficients() -> None:
    truth = np.array([1.0, 0.6, 1.4] + [0.0] * (len(FEATURES) - 3))
    features, churned = synthetic(60_000, truth, -3.0, seed=5)
    fitted, converged = fit_logistic(features, churned)
    assert converged
    assert fitted.intercept == pytest.approx(-3.0, abs=0.12)
    assert np.allclose(fitted.coefficients[:3], truth[:3], atol=0.12)


def test_a_feature_that_lowers_the_risk_is_left_out_not_given_a_negative_weight() -> None:
    truth = np.array([1.0, -0.8, 1.4] + [0.0] * (len(FEATURES) - 3))
    features, churned = synthetic(30_000, truth, -2.0, seed=6)
    fitted, _ = fit_logistic(features, churned)
    assert fitted.coefficients[1] == 0.0 and min(fitted.coefficients) >= 0.0
    assert fitted.coefficients[0] > 0.5 and fitted.coefficients[2] > 0.5


def test_the_report_figures_by_hand() -> None:
    predicted = np.array([0.1, 0.4, 0.35, 0.8])
    churned = np.array([0.0, 0.0, 1.0, 1.0])
    report = calibration(predicted, churned)
    assert report.auc == pytest.approx(0.75)  # of the 4 (churned, kept) pairs, 3 are ordered right
    assert report.brier == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert report.churn_rate == 0.5
    assert [(b.low, b.count) for b in report.reliability] == [(0.1, 1), (0.3, 1), (0.4, 1), (0.8, 1)]


def test_the_held_out_fifth_is_fixed_by_the_customer_id() -> None:
    ids = [f"C{n}" for n in range(20_000)]
    share = sum(held_out(i) for i in ids) / len(ids)
    assert 0.19 < share < 0.21
    assert [held_out(i) for i in ids[:50]] == [held_out(i) for i in ids[:50]]


def test_a_fit_refuses_too_few_churned_customers() -> None:
    few = [Observation(f"C{n}", NOW, tuple([0.0] * len(FEATURES)), 0.1, n < 5) for n in range(2_000)]
    with pytest.raises(ValueError, match="at least 30 of each"):
        fit_churn(few)


def test_the_shipped_model_file_is_a_learned_score_that_says_where_it_came_from() -> None:
    shipped = load_model_file(SHIPPED_MODEL_FILE)
    assert shipped.model.logistic is not None
    assert "simulator's reference population" in shipped.source
    assert shipped.calibration is not None and shipped.calibration["beats_incumbent"] is True


def scored(tier: str | None, *, at: datetime = NOW, closed: bool = False) -> ScoreState:
    rng = random.Random(1)
    return ScoreState(
        customer_id="C1",
        tier=tier,
        evaluated_at=at,
        closed=closed,
        churn_score=rng.random(),
        inputs=inputs(),
        decided_at=at,
    )


def test_one_observation_a_month_of_a_customer_not_dormant_nor_closed() -> None:
    state = scored("B")
    first = observe(state, CHURN, MODEL)
    assert first is not None and first.observed_at == NOW and first.score == state.churn_score
    assert first.features == features_at(inputs(), CHURN, MODEL, NOW)
    assert state.observed_month == month_of(NOW)
    state.evaluated_at = NOW + timedelta(days=5)
    assert observe(state, CHURN, MODEL) is None  # same month
    state.evaluated_at = NOW + timedelta(days=12)  # December
    assert observe(state, CHURN, MODEL) is not None
    assert observe(scored("D"), CHURN, MODEL) is None
    assert observe(scored("A", closed=True), CHURN, MODEL) is None


def test_churn_is_turning_dormant_or_closing() -> None:
    assert churned_at(Published(scored("D"), Tier.B, None, False)) == NOW
    assert churned_at(Published(scored("D"), Tier.D, None, False)) is None  # already dormant
    assert churned_at(Published(scored("C", closed=True), Tier.C, None, True)) == NOW
    assert churned_at(Published(scored("C"), Tier.B, None, True)) is None
