"""Use cases on churn models: fit BG/NBD (from a CSV or the stored customers) or the learned score (from
churn observations), list them, read a fit's report, activate one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_scoring.adapters import observations, scores
from tierflow_scoring.adapters.churn_models import CHURN_MODELS, churn_fit_details, fit_details
from tierflow_scoring.adapters.repeat_csv import read_repeat_statistics
from tierflow_scoring.application.errors import FitRefused, UnknownVersion
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.churn_fitting import ChurnFit, Observation, fit_churn
from tierflow_scoring.domain.fitting import FitResult, fit_bgnbd
from tierflow_scoring.domain.model_file import SHIPPED_MODEL_FILE, load_model_file

TIME_UNITS = ("days", "weeks")


@dataclass(frozen=True)
class StoredModel:
    """A stored churn model with where it came from."""

    model: ChurnModel
    customers: int
    log_likelihood: float | None
    source: str
    created_at: datetime
    active: bool
    calibration: dict[str, Any] | None = None
    calibration_png: bytes | None = None


async def fit_model(
    engine: AsyncEngine,
    clock: Clock,
    *,
    version: str,
    csv: Path | None = None,
    time_unit: str = "days",
    activate: bool = False,
) -> FitResult:
    """Fit BG/NBD parameters by maximum likelihood, from a CSV (in `time_unit`) or the stored customers
    (in days), and store them as `version` (with the active model's learned score, if it has one); activating
    it re-scores everyone."""
    if time_unit not in TIME_UNITS:
        raise FitRefused(f"the time unit is days or weeks, not {time_unit}")
    now = clock.now()
    if csv is not None:
        rows = read_repeat_statistics(csv)
        source, unit = f"csv {csv.name}", time_unit
    else:
        async with engine.connect() as conn:
            stored = await scores.repeat_statistics(conn, at=now)
        rows = [(float(x), t_x, T) for x, t_x, T in stored]
        source, unit = f"stored customers at {now:%Y-%m-%d %H:%M}Z", "days"
    try:
        result = fit_bgnbd(
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], version=version, time_unit=unit
        )
    except ValueError as exc:
        raise FitRefused(str(exc)) from None
    async with engine.connect() as conn:
        active = await CHURN_MODELS.active(conn)
    if active is not None and active.logistic is not None:  # new P(alive), the same learned score on top
        result = replace(result, model=replace(result.model, logistic=active.logistic))
        source = f"{source}; learned score from {active.version}"
    async with engine.begin() as conn:
        await CHURN_MODELS.store(
            conn, result.model, now=now, activate=activate, details=fit_details(source=source, fit=result)
        )
    return result


async def list_models(engine: AsyncEngine) -> list[StoredModel]:
    """Every stored churn model, oldest first; one is active."""
    async with engine.connect() as conn:
        stored = await CHURN_MODELS.versions(conn)
    return [
        StoredModel(
            model=s.document,
            customers=s.row["customers"],
            log_likelihood=s.row["log_likelihood"],
            source=s.row["source"],
            created_at=s.row["created_at"],
            active=s.active,
            calibration=s.row["calibration"],
            calibration_png=s.row["calibration_png"],
        )
        for s in stored
    ]


async def activate_model(engine: AsyncEngine, clock: Clock, version: str) -> None:
    """Make a stored model the active one (re-scores everyone); UnknownVersion if there is none."""
    async with engine.begin() as conn:
        await CHURN_MODELS.activate(conn, version, now=clock.now())


@dataclass(frozen=True)
class LearnedFit:
    """A stored learned score: the model (the BG/NBD part it was built on, and the logistic part) and its fit."""

    model: ChurnModel
    fit: ChurnFit
    source: str


async def fit_churn_score(
    engine: AsyncEngine,
    clock: Clock,
    *,
    version: str,
    observations_given: Sequence[Observation] | None = None,
    source: str | None = None,
    render: Callable[[ChurnFit, str], bytes] | None = None,
    activate: bool = False,
) -> LearnedFit:
    """Fit the learned churn score on observations (given, or the stored ones that have matured) over the
    active model's BG/NBD part, and store it as `version` with its calibration report (and PNG)."""
    now = clock.now()
    async with engine.connect() as conn:
        base = await CHURN_MODELS.active(conn)
        stored = None if observations_given is not None else await observations.matured(conn, at=now)
    base = base or load_model_file(SHIPPED_MODEL_FILE).model  # nothing active yet: the shipped BG/NBD part
    data = observations_given if observations_given is not None else stored or []
    origin = source or f"{len(data)} matured churn observations at {now:%Y-%m-%d %H:%M}Z"
    try:
        fit = fit_churn(data)
    except ValueError as exc:
        raise FitRefused(str(exc)) from None
    model = replace(base, version=version, logistic=fit.logistic)
    description = f"learned score on {origin}; BG/NBD from {base.version}"
    png = None if render is None else render(fit, version)
    async with engine.begin() as conn:
        await CHURN_MODELS.store(
            conn, model, now=now, activate=activate, details=churn_fit_details(source=description, fit=fit, png=png)
        )
    return LearnedFit(model=model, fit=fit, source=description)


async def model_report(engine: AsyncEngine, version: str) -> StoredModel:
    """A stored model with its fit's report; UnknownVersion if there is none."""
    for stored in await list_models(engine):
        if stored.model.version == version:
            return stored
    raise UnknownVersion(f"no churn model {version}")
