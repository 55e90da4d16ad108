"""Ground truth for the experiment statistics (issue 19): the simulator's behavioural model with a known true
effect, the routing service's real holdout assignment, and the statistics must find the effect.

20,000 D-tier (dormant) customers of the simulator's population, a 10% global holdout drawn with
`holdout_assignment`, the rest in the reactivation flow; 30-day return drawn by the behavioural model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from tierflow_routing.domain.experiment_stats import ArmSample, ExperimentComparison, compare_arms
from tierflow_routing.domain.experiments import holdout_assignment
from tierflow_routing.domain.policy import Holdout
from tierflow_simulator.behaviour import Effects, FlowEffect, Outcome, draw_outcomes, load_effects
from tierflow_simulator.population import Persona, Segment, make_population

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2027, 3, 1, tzinfo=UTC)
SEED = 19
CUSTOMERS = 20_000
HOLDOUT = Holdout(id="ground-truth-holdout", salt="ground-truth-holdout", share=0.1)


@cache
def dormant_customers() -> tuple[Persona, ...]:
    """The first 20,000 dormant personas of one seeded population (about 22% of it is dormant)."""
    population = make_population(92_000, seed=SEED, now=NOW)
    dormant = tuple(p for p in population if p.segment is Segment.DORMANT)[:CUSTOMERS]
    assert len(dormant) == CUSTOMERS
    return dormant


def flow_of(persona: Persona) -> str | None:
    """The decision: reactivation for D, no outreach for the held out (the routing service's own hash)."""
    return None if holdout_assignment(HOLDOUT, persona.customer_id) is not None else "reactivation"


@cache
def experiment(return_points: float) -> tuple[tuple[Outcome, ...], ExperimentComparison]:
    effects = Effects({"reactivation": FlowEffect(return_points=return_points)})
    outcomes = tuple(draw_outcomes(dormant_customers(), flow_of, effects, now=NOW, seed=SEED))
    samples = [
        ArmSample.from_customers(
            arm,
            [o.returned for o in outcomes if (o.flow or "holdout") == arm],
            [o.signals.pre_activity for o in outcomes if (o.flow or "holdout") == arm],
        )
        for arm in ("holdout", "reactivation")
    ]
    return outcomes, compare_arms(samples, control="holdout")


def test_the_holdout_is_a_tenth_by_the_real_assignment() -> None:
    held = sum(flow_of(p) is None for p in dormant_customers())
    assert 1_880 <= held <= 2_120  # 2,000 expected, binomial sd about 42


def test_a_true_eight_point_effect_is_found() -> None:
    outcomes, result = experiment(8.0)
    arm = result.arms[0]
    assert arm.rate.arm == "reactivation"
    assert not any(o.p_return >= 1.0 for o in outcomes)  # no clipping: the true effect is exactly 8 points
    assert arm.raw.interval.contains(0.08), arm.raw
    assert not arm.raw.interval.contains(0.0), arm.raw
    assert arm.adjusted is not None
    assert arm.adjusted.interval.contains(0.08), arm.adjusted
    assert not arm.adjusted.interval.contains(0.0), arm.adjusted


def test_no_true_effect_gives_an_interval_around_zero() -> None:
    _, result = experiment(0.0)
    arm = result.arms[0]
    assert arm.raw.interval.contains(0.0), arm.raw
    assert arm.adjusted is not None and arm.adjusted.interval.contains(0.0), arm.adjusted


def test_cuped_narrows_the_interval_with_pre_period_activity() -> None:
    _, result = experiment(8.0)
    arm = result.arms[0]
    assert result.theta is not None and result.theta > 0  # more active before, more likely to return
    assert arm.adjusted is not None
    assert arm.adjusted.interval.width < 0.97 * arm.raw.interval.width


def test_an_effect_only_moves_thresholds() -> None:
    """Common random numbers: with the effect, everyone who returned without it still returns."""
    without, _ = experiment(0.0)
    with_effect, _ = experiment(8.0)
    for before, after in zip(without, with_effect, strict=True):
        assert after.signals == before.signals
        assert after.returned or not before.returned
    assert sum(o.returned for o in with_effect) > sum(o.returned for o in without)


def test_the_example_effects_file_loads() -> None:
    effects = load_effects(ROOT / "tools/simulator/effects/example.yaml")
    assert effects.of("reactivation").return_points == pytest.approx(8.0)
    assert effects.of(None) == FlowEffect()
    assert effects.horizon_days == 30
