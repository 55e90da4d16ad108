"""A churn model as a YAML document: the shipped default (policies/churn-model.yaml) is one. Pure.

version: learned-sim-2026.12
bgnbd: {r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, time_unit: weeks}
logistic: {intercept: -4.3, coefficients: {login_gap: 1.36, ...}}   # absent: the hand-set weights
fitted_on: {...}       # where it came from (kept as the stored model's `source`)
calibration: {...}     # the fit's report on its held-out customers
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierflow_common.exceptions import ConfigurationError
from tierflow_common.yaml_documents import load_mapping
from tierflow_scoring.domain.churn import DAYS_PER_UNIT, ChurnModel
from tierflow_scoring.domain.churn_logistic import LogisticChurn

SHIPPED_MODEL_FILE = Path(__file__).resolve().parents[1] / "policies" / "churn-model.yaml"


@dataclass(frozen=True, slots=True)
class ModelFile:
    model: ChurnModel
    source: str
    customers: int
    calibration: dict[str, Any] | None


def parse_model_file(text: str, *, source: str) -> ModelFile:
    """A churn model document; ConfigurationError names what is wrong."""
    document = load_mapping(text, source=source, what="a churn model file", error=ConfigurationError)
    try:
        bgnbd = document["bgnbd"]
        unit = bgnbd.get("time_unit", "days")
        if unit not in DAYS_PER_UNIT:
            raise ValueError(f"bgnbd.time_unit is days or weeks, not {unit}")
        learned = document.get("logistic")
        logistic = (
            None if learned is None else LogisticChurn.from_mapping(learned["intercept"], learned["coefficients"])
        )
        model = ChurnModel(
            version=str(document["version"]),
            r=float(bgnbd["r"]),
            alpha=float(bgnbd["alpha"]),
            a=float(bgnbd["a"]),
            b=float(bgnbd["b"]),
            time_unit=unit,
            logistic=logistic,
        )
        fitted_on = document.get("fitted_on") or {}
        return ModelFile(
            model=model,
            source=str(fitted_on.get("description", source))[:500],
            customers=int(fitted_on.get("customers", 0)),
            calibration=document.get("calibration"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"{source}: {exc!r}") from None


def load_model_file(path: Path) -> ModelFile:
    return parse_model_file(path.read_text(encoding="utf-8"), source=str(path))
