"""Fitting BG/NBD population parameters by maximum likelihood (scipy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

from tierflow_scoring.domain.churn import ChurnModel


@dataclass(frozen=True, slots=True)
class FitResult:
    model: ChurnModel
    log_likelihood: float
    customers: int
    converged: bool


def log_likelihood(params: Sequence[float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    per_customer: np.ndarray = a1 + a2 + np.logaddexp(a3, a4)  # scipy is untyped: name the result's type
    return per_customer


def fit_bgnbd(
    frequency: Sequence[float],
    recency: Sequence[float],
    age: Sequence[float],
    *,
    version: str,
    time_unit: str = "days",
) -> FitResult:
    """Maximum-likelihood r, alpha, a, b from (x, t_x, T) triples, all in `time_unit`."""
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    T = np.asarray(age, dtype=float)
    if len(x) == 0:
        raise ValueError("no customers to fit on")
    if np.any(t_x > T) or np.any(x < 0):
        raise ValueError("every customer needs 0 <= recency <= T and frequency >= 0")

    def objective(log_params: np.ndarray) -> float:
        return float(-np.sum(log_likelihood(np.exp(log_params), x, t_x, T)))

    start = np.log(np.array([1.0, max(float(np.mean(T)), 1.0), 1.0, 1.0]))
    coarse = minimize(objective, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000})
    fine = minimize(objective, coarse.x, method="BFGS", options={"gtol": 1e-8})
    best = fine if fine.fun <= coarse.fun else coarse
    r, alpha, a, b = (float(v) for v in np.exp(best.x))
    return FitResult(
        model=ChurnModel(version=version, r=r, alpha=alpha, a=a, b=b, time_unit=time_unit),
        log_likelihood=float(-best.fun),
        customers=len(x),
        converged=bool(coarse.success or fine.success),
    )
