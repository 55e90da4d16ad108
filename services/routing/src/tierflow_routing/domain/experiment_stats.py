"""Experiment statistics: per-arm outcome rates, the difference to the control with a 95% interval,
the CUPED-adjusted difference, and whether the arms have enough customers yet. Pure, standard library only.

Everything works on **sufficient statistics per arm** (`ArmSample`), which one SQL `GROUP BY arm` gives
(`count(*)`, `sum(y)`, `sum(x)`, `sum(x*x)`, `sum(x*y)`), or `ArmSample.from_customers` from per-customer
values. The outcome `y` is binary (returned within 30 days, retained, ...); `x` is a pre-period covariate
measured before the decision (logins and trades in the 30 days before it, or a 0/1 active-before flag).

Formulas (arm `t` against control `c`, usually the holdout; `z = 1.959964` for 95%):

- Rate of an arm: `p = successes / customers`, with a **Wilson score** interval
  `(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`.
- Raw difference: `d = p_t - p_c`, **Wald interval with the unpooled standard error**
  `se = sqrt(p_t(1-p_t)/n_t + p_c(1-p_c)/n_c)`, interval `d ± z·se`. It needs roughly ten successes and
  ten failures in each arm; below that it is too narrow (a Newcombe interval would be the fix).
- CUPED (Deng, Xu, Kohavi & Walker 2013): `theta = cov(x, y) / var(x)` over the customers of **all** the
  arms compared (pooled: one theta for the whole experiment, so every arm is adjusted alike), and per
  customer `y_adj = y - theta·(x - mean_x)` with `mean_x` the pooled mean. So the adjusted difference is
  `d_adj = d - theta·(mean_x_t - mean_x_c)` and each arm's variance is
  `var_a(y) - 2·theta·cov_a(x, y) + theta²·var_a(x)` (sample variances, n-1). The interval is Wald on
  `y_adj`, `d_adj ± z·sqrt(var_adj_t/n_t + var_adj_c/n_c)`. Theta's own estimation error is ignored (it is
  of order 1/n). Because `x` is measured before assignment, `d_adj` estimates the same effect as `d`; the
  interval narrows by about `sqrt(1 - corr(x, y)²)`.
- Power: customers needed **per arm** (equal arms) to detect an effect of `mde` from a baseline `p`
  with a two-sided test at `alpha` and power `1 - beta`:
  `n = (z_{1-alpha/2} + z_{1-beta})² · (p(1-p) + q(1-q)) / mde²`, `q = p + mde` (unpooled, as the
  interval). With the arms as they are (unequal sizes, e.g. a 10% holdout), the **detectable effect** is
  `(z_{1-alpha/2} + z_{1-beta}) · sqrt(p(1-p)·(1/n_t + 1/n_c))` (the variance taken at the baseline), and
  the comparison has **enough** customers when it is at most `mde`. `required_per_arm` answers "how many
  in each of two equal arms"; `enough` is the answer for the arms as they are.

Limits (docs/experiments.md, "Statistics"): the intervals are for one look at fixed sizes (peeking at a
running experiment and stopping when it looks significant inflates false positives); several arms against
one control are not corrected for multiplicity; customers sharing an advisor are not independent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

DEFAULT_CONFIDENCE = 0.95
DEFAULT_MINIMUM_EFFECT = 0.02  # two percentage points
DEFAULT_ALPHA = 0.05
DEFAULT_POWER = 0.8
_STANDARD = NormalDist()


class InsufficientData(ValueError):
    """An arm has too few customers for the statistic asked (a rate needs one, a difference two per arm)."""


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of `confidence` (1.959964 for 0.95)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence is in (0, 1), not {confidence}")
    return _STANDARD.inv_cdf(0.5 + confidence / 2)


@dataclass(frozen=True, slots=True)
class ArmSample:
    """One arm's sufficient statistics: customers, successes (y = 1) and the pre-period sums."""

    arm: str
    customers: int
    successes: int
    pre_sum: float = 0.0
    """sum of x, the pre-period covariate"""
    pre_sum_squares: float = 0.0
    """sum of x*x"""
    pre_success_sum: float = 0.0
    """sum of x*y: the covariate summed over the customers with y = 1"""

    def __post_init__(self) -> None:
        if self.customers < 0 or not 0 <= self.successes <= self.customers:
            raise ValueError(f"arm {self.arm}: need 0 <= successes ({self.successes}) <= customers ({self.customers})")

    @classmethod
    def from_customers(
        cls, arm: str, outcomes: Sequence[bool | int], pre_period: Sequence[float] | None = None
    ) -> ArmSample:
        """The sums of per-customer outcomes (0/1) and pre-period covariates (same order; None: no covariate)."""
        xs = [0.0] * len(outcomes) if pre_period is None else [float(x) for x in pre_period]
        if len(xs) != len(outcomes):
            raise ValueError(f"arm {arm}: {len(outcomes)} outcomes but {len(xs)} pre-period values")
        ys = [int(y) for y in outcomes]
        if any(y not in (0, 1) for y in ys):
            raise ValueError(f"arm {arm}: outcomes are 0 or 1")
        return cls(
            arm=arm,
            customers=len(ys),
            successes=sum(ys),
            pre_sum=math.fsum(xs),
            pre_sum_squares=math.fsum(x * x for x in xs),
            pre_success_sum=math.fsum(x for x, y in zip(xs, ys, strict=True) if y),
        )

    @property
    def rate(self) -> float:
        """successes / customers."""
        if self.customers == 0:
            raise InsufficientData(f"arm {self.arm} has no customers")
        return self.successes / self.customers

    @property
    def pre_mean(self) -> float:
        """The arm's mean pre-period covariate."""
        if self.customers == 0:
            raise InsufficientData(f"arm {self.arm} has no customers")
        return self.pre_sum / self.customers


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval [low, high] at `confidence`."""

    low: float
    high: float
    confidence: float

    def contains(self, value: float) -> bool:
        """low <= value <= high."""
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        """high - low."""
        return self.high - self.low


@dataclass(frozen=True, slots=True)
class ArmRate:
    """An arm's outcome rate with its Wilson interval."""

    arm: str
    customers: int
    successes: int
    rate: float
    interval: Interval


@dataclass(frozen=True, slots=True)
class Difference:
    """An arm's rate minus the control's (a proportion: 0.08 is eight points), with its Wald interval."""

    estimate: float
    standard_error: float
    interval: Interval
    method: str
    """"wald-unpooled" (raw) or "cuped-wald" (adjusted)"""


@dataclass(frozen=True, slots=True)
class PowerCheck:
    """Whether a comparison has enough customers to detect `minimum_effect` from `baseline`."""

    minimum_effect: float
    baseline: float
    alpha: float
    power: float
    required_per_arm: int
    """customers needed in each of two equal arms"""
    detectable_effect: float
    """the smallest effect detectable with the arms' current sizes"""
    arm_has_required: bool
    control_has_required: bool
    enough: bool
    """detectable_effect <= minimum_effect (what counts for unequal arms, e.g. a small holdout)"""


@dataclass(frozen=True, slots=True)
class ArmComparison:
    """One arm against the control: its rate, the raw and the CUPED-adjusted difference, and power."""

    rate: ArmRate
    raw: Difference
    adjusted: Difference | None
    """None when no pre-period covariate was given or it does not vary"""
    power: PowerCheck


@dataclass(frozen=True, slots=True)
class ExperimentComparison:
    """Every arm of an experiment against its control."""

    control: ArmRate
    arms: tuple[ArmComparison, ...]
    theta: float | None
    """the pooled CUPED coefficient; None when the covariate is absent or constant"""
    confidence: float


def wilson_interval(successes: int, customers: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """The Wilson score interval of a proportion (stays inside [0, 1], sound for small counts)."""
    if customers <= 0:
        raise InsufficientData("a rate needs at least one customer")
    z = z_value(confidence)
    p = successes / customers
    denominator = 1 + z * z / customers
    centre = (p + z * z / (2 * customers)) / denominator
    half = z * math.sqrt(p * (1 - p) / customers + z * z / (4 * customers * customers)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half), confidence)


def arm_rate(sample: ArmSample, confidence: float = DEFAULT_CONFIDENCE) -> ArmRate:
    """The arm's rate with its Wilson interval."""
    interval = wilson_interval(sample.successes, sample.customers, confidence)
    return ArmRate(sample.arm, sample.customers, sample.successes, sample.rate, interval)


def _need_two(*samples: ArmSample) -> None:
    for sample in samples:
        if sample.customers < 2:
            raise InsufficientData(f"arm {sample.arm} has {sample.customers} customers; a difference needs 2")


def difference(treated: ArmSample, control: ArmSample, confidence: float = DEFAULT_CONFIDENCE) -> Difference:
    """treated rate - control rate, with the Wald interval on the unpooled standard error."""
    _need_two(treated, control)
    p_t, p_c = treated.rate, control.rate
    se = math.sqrt(p_t * (1 - p_t) / treated.customers + p_c * (1 - p_c) / control.customers)
    return _wald(p_t - p_c, se, confidence, "wald-unpooled")


def _wald(estimate: float, se: float, confidence: float, method: str) -> Difference:
    half = z_value(confidence) * se
    return Difference(estimate, se, Interval(estimate - half, estimate + half, confidence), method)


def _centred(samples: Sequence[ArmSample]) -> tuple[float, float, float]:
    """Pooled sums of squares and products about the pooled means: (Sxx, Sxy, n)."""
    n = sum(s.customers for s in samples)
    sx = math.fsum(s.pre_sum for s in samples)
    sy = sum(s.successes for s in samples)
    sxx = math.fsum(s.pre_sum_squares for s in samples) - sx * sx / n
    sxy = math.fsum(s.pre_success_sum for s in samples) - sx * sy / n
    return sxx, sxy, n


def cuped_theta(samples: Sequence[ArmSample]) -> float | None:
    """cov(x, y) / var(x) over the customers of all `samples`; None when x does not vary (nothing to adjust)."""
    if sum(s.customers for s in samples) < 2:
        raise InsufficientData("theta needs at least two customers")
    sxx, sxy, _ = _centred(samples)
    # Relative tolerance: a constant covariate leaves only rounding in sxx.
    scale = max(1.0, math.fsum(s.pre_sum_squares for s in samples))
    if sxx <= 1e-12 * scale:
        return None
    return sxy / sxx


def _adjusted_variance(sample: ArmSample, theta: float) -> float:
    """The sample variance (n-1) of y - theta*x within one arm."""
    n = sample.customers
    var_y = (sample.successes - sample.successes**2 / n) / (n - 1)
    var_x = (sample.pre_sum_squares - sample.pre_sum**2 / n) / (n - 1)
    cov_xy = (sample.pre_success_sum - sample.pre_sum * sample.successes / n) / (n - 1)
    return max(0.0, var_y - 2 * theta * cov_xy + theta * theta * var_x)


def adjusted_difference(
    treated: ArmSample, control: ArmSample, theta: float, confidence: float = DEFAULT_CONFIDENCE
) -> Difference:
    """The CUPED difference d - theta*(mean_x_t - mean_x_c), Wald interval on the adjusted outcomes."""
    _need_two(treated, control)
    estimate = (treated.rate - control.rate) - theta * (treated.pre_mean - control.pre_mean)
    se = math.sqrt(
        _adjusted_variance(treated, theta) / treated.customers + _adjusted_variance(control, theta) / control.customers
    )
    return _wald(estimate, se, confidence, "cuped-wald")


def required_per_arm(
    baseline: float,
    minimum_effect: float = DEFAULT_MINIMUM_EFFECT,
    *,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
) -> int:
    """Customers needed in each of two equal arms to detect `minimum_effect` (a proportion) from `baseline`."""
    if not 0 <= baseline <= 1 or minimum_effect <= 0:
        raise ValueError("baseline is in [0, 1] and the minimum effect is positive")
    target = baseline + minimum_effect if baseline + minimum_effect <= 1 else baseline - minimum_effect
    if not 0 <= target <= 1:
        raise ValueError(f"no rate is {minimum_effect} away from {baseline}")
    z = z_value(1 - alpha) + _STANDARD.inv_cdf(power)
    variance = baseline * (1 - baseline) + target * (1 - target)
    return max(2, math.ceil(z * z * variance / (minimum_effect * minimum_effect)))


def detectable_effect(
    treated_customers: int,
    control_customers: int,
    baseline: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
) -> float:
    """The smallest effect the arms' current sizes detect at `alpha` and `power` (variance at `baseline`)."""
    if treated_customers <= 0 or control_customers <= 0:
        return math.inf
    z = z_value(1 - alpha) + _STANDARD.inv_cdf(power)
    variance = baseline * (1 - baseline)
    return z * math.sqrt(variance / treated_customers + variance / control_customers)


def power_check(
    treated: ArmSample,
    control: ArmSample,
    *,
    minimum_effect: float = DEFAULT_MINIMUM_EFFECT,
    baseline: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
) -> PowerCheck:
    """Whether `treated` against `control` can detect `minimum_effect`; baseline: the control's rate by default
    (0.5, the most demanding, while the control is empty)."""
    if baseline is None:
        baseline = control.rate if control.customers else 0.5
    needed = required_per_arm(baseline, minimum_effect, alpha=alpha, power=power)
    detectable = detectable_effect(treated.customers, control.customers, baseline, alpha=alpha, power=power)
    return PowerCheck(
        minimum_effect=minimum_effect,
        baseline=baseline,
        alpha=alpha,
        power=power,
        required_per_arm=needed,
        detectable_effect=detectable,
        arm_has_required=treated.customers >= needed,
        control_has_required=control.customers >= needed,
        enough=detectable <= minimum_effect,
    )


def compare_arms(
    samples: Sequence[ArmSample],
    *,
    control: str = "holdout",
    confidence: float = DEFAULT_CONFIDENCE,
    minimum_effect: float = DEFAULT_MINIMUM_EFFECT,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    adjust: bool = True,
) -> ExperimentComparison:
    """Every arm of `samples` against the arm named `control`: rates, raw and CUPED differences, power.

    Theta is pooled over all `samples`; `adjust=False` (or a constant covariate) leaves `adjusted` None.
    """
    by_name = {s.arm: s for s in samples}
    if len(by_name) != len(samples):
        raise ValueError("arm names are unique")
    if control not in by_name:
        raise ValueError(f"no control arm {control!r} among {sorted(by_name)}")
    reference = by_name[control]
    _need_two(*samples)
    theta = cuped_theta(samples) if adjust else None
    compared = tuple(
        ArmComparison(
            rate=arm_rate(sample, confidence),
            raw=difference(sample, reference, confidence),
            adjusted=None if theta is None else adjusted_difference(sample, reference, theta, confidence),
            power=power_check(sample, reference, minimum_effect=minimum_effect, alpha=alpha, power=power),
        )
        for sample in samples
        if sample.arm != control
    )
    return ExperimentComparison(arm_rate(reference, confidence), compared, theta, confidence)
