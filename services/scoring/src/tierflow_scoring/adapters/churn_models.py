"""The churn models (BG/NBD parameter sets): every version ever stored, exactly one active (the shared registry)."""

from __future__ import annotations

from typing import Any

from tierflow_common.db.registry import DocumentKind, Registry
from tierflow_scoring.adapters.policies import LOCK
from tierflow_scoring.adapters.tables import churn_models
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.fitting import FitResult

MODEL: DocumentKind[ChurnModel] = DocumentKind(
    name="churn model",
    version_of=lambda model: model.version,
    to_row=lambda model: {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b, "time_unit": model.time_unit},
    from_row=lambda row: ChurnModel(
        version=row["version"], r=row["r"], alpha=row["alpha"], a=row["a"], b=row["b"], time_unit=row["time_unit"]
    ),
    content=("r", "alpha", "a", "b", "time_unit"),
)

CHURN_MODELS = Registry(churn_models, MODEL, lock=LOCK)


def fit_details(*, source: str, fit: FitResult | None = None) -> dict[str, Any]:
    """The columns describing where a stored model came from (not part of the model itself)."""
    return {
        "customers": 0 if fit is None else fit.customers,
        "log_likelihood": None if fit is None else fit.log_likelihood,
        "source": source,
    }
