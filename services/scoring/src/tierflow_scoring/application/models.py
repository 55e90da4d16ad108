"""Use cases on churn models: fit one (from a CSV or the stored customers), list them, activate one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_scoring.adapters import scores
from tierflow_scoring.adapters.churn_models import CHURN_MODELS, fit_details
from tierflow_scoring.adapters.repeat_csv import read_repeat_statistics
from tierflow_scoring.application.errors import FitRefused
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.fitting import FitResult, fit_bgnbd

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
    (in days), and store them as `version`; activating it re-scores everyone."""
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
        )
        for s in stored
    ]


async def activate_model(engine: AsyncEngine, clock: Clock, version: str) -> None:
    """Make a stored model the active one (re-scores everyone); UnknownVersion if there is none."""
    async with engine.begin() as conn:
        await CHURN_MODELS.activate(conn, version, now=clock.now())
