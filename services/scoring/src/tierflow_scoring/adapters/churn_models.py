"""The churn models (BG/NBD parameters and, once learned, the logistic score): every version ever stored,
exactly one active (the shared registry)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from tierflow_common.db.registry import DocumentKind, Registry
from tierflow_scoring.adapters.policies import LOCK
from tierflow_scoring.adapters.tables import churn_models
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.churn_fitting import ChurnFit
from tierflow_scoring.domain.churn_logistic import LogisticChurn
from tierflow_scoring.domain.fitting import FitResult


def logistic_document(logistic: LogisticChurn | None) -> dict[str, Any] | None:
    """The `logistic` column: the intercept and the coefficients by feature name."""
    return None if logistic is None else {"intercept": logistic.intercept, "coefficients": logistic.as_mapping()}


def logistic_of(document: Mapping[str, Any] | None) -> LogisticChurn | None:
    """A `logistic` column (or a model file's `logistic:`) back as the model part."""
    if document is None:
        return None
    return LogisticChurn.from_mapping(document["intercept"], document["coefficients"])


MODEL: DocumentKind[ChurnModel] = DocumentKind(
    name="churn model",
    version_of=lambda model: model.version,
    to_row=lambda model: {
        "r": model.r,
        "alpha": model.alpha,
        "a": model.a,
        "b": model.b,
        "time_unit": model.time_unit,
        "logistic": logistic_document(model.logistic),
    },
    from_row=lambda row: ChurnModel(
        version=row["version"],
        r=row["r"],
        alpha=row["alpha"],
        a=row["a"],
        b=row["b"],
        time_unit=row["time_unit"],
        logistic=logistic_of(row["logistic"]),
    ),
    content=("r", "alpha", "a", "b", "time_unit", "logistic"),
)

CHURN_MODELS = Registry(churn_models, MODEL, lock=LOCK)


def fit_details(*, source: str, fit: FitResult | None = None) -> dict[str, Any]:
    """The columns describing where a stored model came from (not part of the model itself)."""
    return {
        "customers": 0 if fit is None else fit.customers,
        "log_likelihood": None if fit is None else fit.log_likelihood,
        "source": source,
    }


def churn_fit_details(*, source: str, fit: ChurnFit, png: bytes | None) -> dict[str, Any]:
    """The columns describing a learned score's fit: the observations it learned from and its report."""
    return {
        "customers": fit.trained_on,
        "log_likelihood": None,
        "source": source,
        "calibration": calibration_document(fit),
        "calibration_png": png,
    }


def calibration_document(fit: ChurnFit) -> dict[str, Any]:
    """The `calibration` column: both scores' reports on the held-out customers."""
    return {
        "trained_on": fit.trained_on,
        "converged": fit.converged,
        "fitted": asdict(fit.fitted),
        "incumbent": asdict(fit.incumbent),
        "beats_incumbent": fit.beats_incumbent,
    }
