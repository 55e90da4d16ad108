"""Files around the learned churn score: observations as JSON Lines, the reliability chart as PNG, and the
shipped default model file (docs/scoring.md, "The learned churn score")."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from tierflow_scoring.adapters.churn_models import calibration_document, logistic_document
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.churn_fitting import Calibration, ChurnFit, Observation
from tierflow_scoring.domain.churn_logistic import FEATURES


class ObservationFileError(ValueError):
    """A line of an observations file is not an observation (the message names the line)."""


def write_observations(path: Path, observations: Iterable[Observation]) -> int:
    """One JSON object per line: customer_id, observed_at, features by name, score, churned."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for o in observations:
            line = {
                "customer_id": o.customer_id,
                "observed_at": o.observed_at.isoformat(),
                "features": dict(zip(FEATURES, o.features, strict=True)),
                "score": o.score,
                "churned": o.churned,
            }
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
            count += 1
    return count


def read_observations(path: Path) -> list[Observation]:
    """The observations of a JSON Lines file written by `write_observations` (or by hand, same fields)."""
    observations = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                unknown = set(row["features"]) - set(FEATURES)
                if unknown:
                    raise ValueError(f"unknown features {sorted(unknown)}")
                observations.append(
                    Observation(
                        customer_id=str(row["customer_id"]),
                        observed_at=datetime.fromisoformat(row["observed_at"]),
                        features=tuple(float(row["features"].get(name, 0.0)) for name in FEATURES),
                        score=float(row["score"]),
                        churned=bool(row["churned"]),
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ObservationFileError(f"{path}:{number}: not an observation ({exc})") from None
    return observations


def reliability_png(fit: ChurnFit, version: str) -> bytes:
    """The reliability curve (mean predicted against observed churn per bin) of the fitted and the incumbent
    score on the held-out customers, with the Brier score and AUC of each in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 5.2), dpi=110)
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")

    def curve(report: Calibration, name: str, marker: str) -> None:
        bins = report.reliability
        axes.plot(
            [b.mean_predicted for b in bins],
            [b.observed_rate for b in bins],
            marker=marker,
            label=f"{name}: Brier {report.brier:.4f}, AUC {report.auc:.3f}",
        )

    curve(fit.fitted, f"fitted {version}", "o")
    curve(fit.incumbent, "score in force when observed", "s")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("predicted probability of churning within 90 days (bin mean)")
    axes.set_ylabel("observed share that churned")
    axes.set_title(f"{version}: reliability on {fit.fitted.observations:,} held-out observations")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def model_file_text(model: ChurnModel, fit: ChurnFit, fitted_on: dict[str, Any]) -> str:
    """A churn model file (domain/model_file.py) for a learned score and the report of its fit."""
    document = {
        "version": model.version,
        "bgnbd": {"r": model.r, "alpha": model.alpha, "a": model.a, "b": model.b, "time_unit": model.time_unit},
        "logistic": logistic_document(model.logistic),
        "fitted_on": fitted_on,
        "calibration": calibration_document(fit),
    }
    header = (
        "# The shipped default churn model: the published CDNOW BG/NBD parameters and a logistic score fitted on\n"
        "# the simulator's reference population. Generated, do not edit: `tierflow scoring model reference\n"
        "# --write-default <this file>` (a unit test fails when the file and a fresh fit differ).\n"
    )
    body: str = yaml.safe_dump(document, sort_keys=False, width=110)
    return header + body
