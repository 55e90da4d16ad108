"""Fitting the learned churn score from labelled observations, and its calibration report (numpy).

An observation is a customer's features at a moment and whether they became dormant or closed within the
90 days after it. The observations are split by a hash of the customer id: a fifth is held out, never
seen by the fit, and the report compares the fitted model with the score in force when each observation
was made (the `score` it recorded) on that held-out fifth: Brier score, AUC and a reliability table.

The fit is maximum likelihood with a small ridge penalty (Newton-Raphson / IRLS), coefficients held at
zero or above: a feature whose coefficient would go negative is left out and the rest refitted. A set
that cannot support a fit (too few churned or kept customers on either side) raises ValueError.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy.stats import rankdata

from tierflow_scoring.domain.churn_logistic import FEATURES, LogisticChurn

HELD_OUT_SHARE = 0.2
RIDGE = 1.0
MIN_EACH_CLASS = 30
BINS = 10


@dataclass(frozen=True, slots=True)
class Observation:
    """A customer's churn features at a moment, the score then in force, and what followed within 90 days."""

    customer_id: str
    observed_at: datetime
    features: tuple[float, ...]
    score: float
    churned: bool


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed_rate: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """How well probabilities match outcomes on a set of observations."""

    observations: int
    churn_rate: float
    brier: float
    auc: float
    log_loss: float
    reliability: tuple[ReliabilityBin, ...]


@dataclass(frozen=True, slots=True)
class ChurnFit:
    logistic: LogisticChurn
    trained_on: int
    fitted: Calibration
    """the fitted model on the held-out observations"""
    incumbent: Calibration
    """the score in force when each held-out observation was made, on the same observations"""
    converged: bool

    @property
    def beats_incumbent(self) -> bool:
        return self.fitted.auc > self.incumbent.auc and self.fitted.brier < self.incumbent.brier


def held_out(customer_id: str) -> bool:
    """A fifth of the customers, by the first 8 bytes of SHA-256 of `churn-holdout:<id>`."""
    digest = hashlib.sha256(f"churn-holdout:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < HELD_OUT_SHARE * 2**64


def _newton(X: np.ndarray, y: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, bool]:
    """Ridge-penalised logistic maximum likelihood on the active columns (column 0, the intercept, unpenalised)."""
    Xa = X[:, active]
    beta = np.zeros(Xa.shape[1])
    penalty = np.full(Xa.shape[1], RIDGE)
    penalty[0] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(Xa @ beta)))
        gradient = Xa.T @ (y - p) - penalty * beta
        hessian = (Xa * (p * (1 - p))[:, None]).T @ Xa + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-9:
            return beta, True
    return beta, False


def fit_logistic(features: np.ndarray, churned: np.ndarray) -> tuple[LogisticChurn, bool]:
    """Non-negative coefficients by active set: drop the most negative feature and refit until none is."""
    X = np.column_stack([np.ones(len(churned)), features])
    active = np.ones(X.shape[1], dtype=bool)
    while True:
        beta, converged = _newton(X, churned, active)
        full = np.zeros(X.shape[1])
        full[active] = beta
        negative = [i for i in range(1, X.shape[1]) if active[i] and full[i] < 0]
        if not negative:
            return LogisticChurn(float(full[0]), tuple(float(c) for c in full[1:])), converged
        active[min(negative, key=lambda i: full[i])] = False


def calibration(predicted: np.ndarray, churned: np.ndarray) -> Calibration:
    """Brier score, AUC (Mann-Whitney, ties halved), log loss and a ten-bin reliability table."""
    n = len(churned)
    positives = int(churned.sum())
    negatives = n - positives
    ranks = rankdata(predicted)
    auc = (float(ranks[churned == 1].sum()) - positives * (positives + 1) / 2) / (positives * negatives)
    clipped = np.clip(predicted, 1e-12, 1 - 1e-12)
    bins = []
    for k in range(BINS):
        low, high = k / BINS, (k + 1) / BINS
        inside = (predicted >= low) & ((predicted < high) if k < BINS - 1 else (predicted <= high))
        count = int(inside.sum())
        if count:
            bins.append(
                ReliabilityBin(low, high, count, float(predicted[inside].mean()), float(churned[inside].mean()))
            )
    return Calibration(
        observations=n,
        churn_rate=positives / n,
        brier=float(np.mean((predicted - churned) ** 2)),
        auc=auc,
        log_loss=float(-np.mean(churned * np.log(clipped) + (1 - churned) * np.log(1 - clipped))),
        reliability=tuple(bins),
    )


def fit_churn(observations: Sequence[Observation]) -> ChurnFit:
    """Fit on four fifths of the customers; report the fitted and the incumbent scores on the other fifth."""
    if any(len(o.features) != len(FEATURES) for o in observations):
        raise ValueError(f"every observation has the {len(FEATURES)} features {', '.join(FEATURES)}")
    split = np.array([held_out(o.customer_id) for o in observations], dtype=bool)
    features = np.array([o.features for o in observations], dtype=float).reshape(len(observations), len(FEATURES))
    churned = np.array([o.churned for o in observations], dtype=float)
    scores = np.array([o.score for o in observations], dtype=float)
    for name, part in (("fitting", ~split), ("held-out", split)):
        positives = int(churned[part].sum())
        if min(positives, int(part.sum()) - positives) < MIN_EACH_CLASS:
            raise ValueError(
                f"the {name} set has {positives} churned and {int(part.sum()) - positives} kept observations; "
                f"a fit needs at least {MIN_EACH_CLASS} of each"
            )
    logistic, converged = fit_logistic(features[~split], churned[~split])
    predicted = np.array([logistic.probability(tuple(row)) for row in features[split]])
    return ChurnFit(
        logistic=logistic,
        trained_on=int((~split).sum()),
        fitted=calibration(predicted, churned[split]),
        incumbent=calibration(np.clip(scores[split], 0.0, 1.0), churned[split]),
        converged=converged,
    )
