"""Experiment statistics against hand calculations, scipy and numpy, and a coverage check by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tierflow_routing.domain.experiment_stats import (
    ArmSample,
    InsufficientData,
    adjusted_difference,
    arm_rate,
    compare_arms,
    cuped_theta,
    detectable_effect,
    difference,
    power_check,
    required_per_arm,
    wilson_interval,
    z_value,
)


def test_z_value_is_the_two_sided_normal_quantile() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(0.90) == pytest.approx(stats.norm.ppf(0.95))
    with pytest.raises(ValueError):
        z_value(1.0)


def test_wald_difference_by_hand() -> None:
    treated, control = ArmSample("reactivation", 1000, 120), ArmSample("holdout", 1000, 100)
    result = difference(treated, control)
    se = math.sqrt(0.12 * 0.88 / 1000 + 0.10 * 0.90 / 1000)  # 0.013986
    assert result.estimate == pytest.approx(0.02)
    assert result.standard_error == pytest.approx(se)
    assert result.interval.low == pytest.approx(0.02 - 1.959964 * se, abs=1e-6)
    assert result.interval.high == pytest.approx(0.02 + 1.959964 * se, abs=1e-6)
    assert result.interval.contains(0.0) and not result.interval.contains(0.05)
    assert result.method == "wald-unpooled"


@pytest.mark.parametrize(("successes", "customers"), [(0, 10), (3, 10), (50, 400), (399, 400), (10, 10)])
def test_wilson_interval_matches_scipy(successes: int, customers: int) -> None:
    expected = stats.binomtest(successes, customers).proportion_ci(confidence_level=0.95, method="wilson")
    interval = wilson_interval(successes, customers)
    assert interval.low == pytest.approx(expected.low, abs=1e-9)
    assert interval.high == pytest.approx(expected.high, abs=1e-9)


def test_arm_rate_and_empty_arms() -> None:
    rate = arm_rate(ArmSample("a", 200, 50))
    assert (rate.rate, rate.customers, rate.successes) == (0.25, 200, 50)
    assert rate.interval.contains(0.25)
    with pytest.raises(InsufficientData):
        arm_rate(ArmSample("a", 0, 0))
    with pytest.raises(InsufficientData):
        difference(ArmSample("a", 1, 1), ArmSample("holdout", 100, 10))
    with pytest.raises(ValueError):
        ArmSample("a", 10, 11)


def _customers(rng: np.random.Generator, n: int, effect: float) -> tuple[np.ndarray, np.ndarray]:
    """Pre-period activity x and a return y that depends on it (so x is predictive)."""
    x = rng.poisson(2.0, n).astype(float)
    p = np.clip(0.02 + 0.12 * x + effect, 0, 1)
    return x, (rng.random(n) < p).astype(int)


def test_sums_from_customers_and_cuped_match_numpy() -> None:
    rng = np.random.default_rng(7)
    x_t, y_t = _customers(rng, 3000, 0.05)
    x_c, y_c = _customers(rng, 1000, 0.0)
    treated = ArmSample.from_customers("t", y_t.tolist(), x_t.tolist())
    control = ArmSample.from_customers("holdout", y_c.tolist(), x_c.tolist())
    assert (treated.customers, treated.successes) == (3000, int(y_t.sum()))
    assert treated.pre_success_sum == pytest.approx(float((x_t * y_t).sum()))

    x, y = np.concatenate([x_t, x_c]), np.concatenate([y_t, y_c])
    theta_np = np.cov(x, y, ddof=1)[0, 1] / np.var(x, ddof=1)
    theta = cuped_theta([treated, control])
    assert theta == pytest.approx(theta_np, rel=1e-9)

    adjusted_t = y_t - theta_np * (x_t - x.mean())
    adjusted_c = y_c - theta_np * (x_c - x.mean())
    se_np = math.sqrt(adjusted_t.var(ddof=1) / len(y_t) + adjusted_c.var(ddof=1) / len(y_c))
    assert theta is not None
    result = adjusted_difference(treated, control, theta)
    assert result.estimate == pytest.approx(adjusted_t.mean() - adjusted_c.mean(), rel=1e-9)
    assert result.standard_error == pytest.approx(se_np, rel=1e-9)
    raw = difference(treated, control)
    # A predictive covariate narrows the interval by about sqrt(1 - corr(x, y)^2).
    shrink = math.sqrt(1 - np.corrcoef(x, y)[0, 1] ** 2)
    assert result.standard_error / raw.standard_error == pytest.approx(shrink, abs=0.01)
    assert result.standard_error < raw.standard_error * 0.95


def test_a_constant_covariate_gives_no_adjustment() -> None:
    samples = [
        ArmSample.from_customers("t", [1, 0, 1, 0], [3, 3, 3, 3]),
        ArmSample.from_customers("holdout", [0, 0, 1], [3, 3, 3]),
    ]
    assert cuped_theta(samples) is None
    result = compare_arms(samples)
    assert result.theta is None and result.arms[0].adjusted is None
    assert result.arms[0].raw.estimate == pytest.approx(0.5 - 1 / 3)


def test_required_per_arm_by_hand() -> None:
    # (1.959964 + 0.841621)^2 * (0.1*0.9 + 0.12*0.88) / 0.02^2 = 3838.1
    assert required_per_arm(0.10, 0.02) == 3839
    assert required_per_arm(0.10, 0.04) < required_per_arm(0.10, 0.02)
    assert required_per_arm(0.99, 0.02) > 0  # near 1 it measures downwards
    assert required_per_arm(0.10, 0.02, power=0.9) > 3839


def test_power_check_for_a_small_holdout() -> None:
    big = ArmSample("reactivation", 18_000, 3_600)
    small = ArmSample("holdout", 2_000, 400)
    check = power_check(big, small)
    assert check.required_per_arm == required_per_arm(0.2, 0.02)
    assert check.arm_has_required and not check.control_has_required
    expected = (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * math.sqrt(0.16 / 18_000 + 0.16 / 2_000)
    assert check.detectable_effect == pytest.approx(expected)
    assert not check.enough  # 2,000 held out are too few for two points (about 2.6 detectable)
    assert power_check(big, small, minimum_effect=0.03).enough
    assert detectable_effect(0, 100, 0.2) == math.inf


def test_compare_arms_reports_every_arm_against_the_control() -> None:
    samples = [ArmSample("holdout", 500, 50), ArmSample("sms", 2000, 260), ArmSample("call", 2000, 300)]
    result = compare_arms(samples, adjust=False)
    assert result.control.arm == "holdout"
    assert [a.rate.arm for a in result.arms] == ["sms", "call"]
    assert [round(a.raw.estimate, 6) for a in result.arms] == [0.03, 0.05]
    with pytest.raises(ValueError, match="no control arm"):
        compare_arms(samples, control="control")


def test_the_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2024)
    runs, covered_raw, covered_adjusted = 400, 0, 0
    for _ in range(runs):
        x_t, y_t = _customers(rng, 900, 0.03)
        x_c, y_c = _customers(rng, 300, 0.0)
        result = compare_arms(
            [
                ArmSample.from_customers("holdout", y_c.tolist(), x_c.tolist()),
                ArmSample.from_customers("t", y_t.tolist(), x_t.tolist()),
            ]
        )
        arm = result.arms[0]
        covered_raw += arm.raw.interval.contains(0.03)
        assert arm.adjusted is not None
        covered_adjusted += arm.adjusted.interval.contains(0.03)
    # 95% of 400 is 380; a binomial standard deviation is about 4.4.
    assert 366 <= covered_raw <= 394
    assert 366 <= covered_adjusted <= 394
