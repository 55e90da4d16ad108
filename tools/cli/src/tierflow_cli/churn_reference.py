"""The simulator's reference population as churn observations: the ground truth the learned churn model is
fitted and checked on (docs/churn-model.md, "Ground truth").

Each customer not yet dormant is observed once, at `now`: the behavioural model draws their signals and
whether they leave within the horizon (tools/simulator behaviour.py: the churn hazard). The signals become
the profile figures scoring would hold (`inputs_of`), and scoring's own code turns those into the learned
model's features and the hand-set score in force: what a live observation records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tierflow_scoring.domain.churn import REFERENCE_MODEL, ChurnModel, evaluate_churn, features_at
from tierflow_scoring.domain.churn_fitting import ChurnFit, Observation, fit_churn
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.policy import ChurnPolicy
from tierflow_simulator.behaviour import Effects, Signals, draw_outcome
from tierflow_simulator.population import Persona, Segment, make_population

REFERENCE_SEED = 2026
REFERENCE_CUSTOMERS = 60_000
SHIPPED_VERSION = "learned-sim-2026.12"
TRADING_DAYS_A_YEAR = 250


def inputs_of(persona: Persona, signals: Signals, now: datetime) -> ScoringInputs:
    """The profile figures scoring would hold for a simulated customer with these signals at `now`."""
    monthly = persona.monthly_trades
    trades_365d = round(12 * monthly)
    silent = timedelta(days=signals.silent_days)
    year_ago = now - timedelta(days=365)
    traded = trades_365d > 0
    outflow = Decimal(f"{signals.net_outflow_share:.4f}") * persona.assets
    return ScoringInputs(
        profile_version=1,
        computed_at=now,
        first_seen_at=min(persona.first_seen_at, now),
        total_assets=persona.assets,
        total_assets_90d_ago=persona.assets,
        net_inflow_90d=-outflow.quantize(Decimal("0.01")),
        trades_30d=round(signals.activity_ratio * monthly),
        trades_90d=round(3 * monthly * min(1.0, signals.activity_ratio)),
        trades_365d=trades_365d,
        first_trade_at=year_ago if traded else None,
        last_trade_at=max(year_ago, now - silent) if traded else None,
        last_login_at=now - timedelta(days=signals.login_gap_days),
        complaints_open=signals.open_complaints,
        complaints_90d=signals.open_complaints,
        last_nps=3 if signals.detractor else 9,
        repeat_x=max(0, min(trades_365d, TRADING_DAYS_A_YEAR) - 1) if traded else None,
        repeat_t_x=max(0, round(365 - signals.silent_days)) if traded else None,
    )


def reference_observations(
    customers: int,
    *,
    seed: int,
    now: datetime,
    policy: ChurnPolicy | None = None,
    model: ChurnModel = REFERENCE_MODEL,
) -> Iterator[Observation]:
    """One observation per customer not yet dormant, among the first `customers` of a seeded population."""
    policy = policy or ChurnPolicy()
    for persona in make_population(customers, seed=seed, now=now):
        if persona.segment is Segment.DORMANT:
            continue
        truth = draw_outcome(persona, None, Effects(), now=now, seed=seed)
        inputs = inputs_of(persona, truth.signals, now)
        yield Observation(
            customer_id=persona.customer_id,
            observed_at=now,
            features=features_at(inputs, policy, model, now),
            score=evaluate_churn(inputs, policy, model, now).score,
            churned=not truth.retained,
        )


def reference_model(
    *, customers: int, seed: int, now: datetime
) -> tuple[ChurnModel, ChurnFit, list[Observation], dict[str, Any]]:
    """The learned score fitted on the reference population over the CDNOW BG/NBD part: the shipped default
    when called with the reference seed and size (and what its model file says about where it came from)."""
    observations = list(reference_observations(customers, seed=seed, now=now))
    fit = fit_churn(observations)
    shipped = seed == REFERENCE_SEED and customers == REFERENCE_CUSTOMERS
    version = SHIPPED_VERSION if shipped else f"learned-sim-seed{seed}-{customers}"
    model = replace(REFERENCE_MODEL, version=version, logistic=fit.logistic)
    fitted_on = {
        "description": f"fitted on the simulator's reference population (seed {seed}, {customers:,} customers, "
        f"{len(observations):,} not dormant observed at {now:%Y-%m-%d}), not on this firm's outcomes",
        "customers": fit.trained_on,
        "seed": seed,
        "population": customers,
        "observed_at": now.isoformat(),
        "command": f"tierflow scoring model reference --customers {customers} --seed {seed} --write-default FILE",
    }
    return model, fit, observations, fitted_on
