"""`tierflow scoring model fit --kind churn`, `model report` and `model reference`: the learned churn score."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from tierflow_scoring.domain.churn_fitting import ChurnFit

console = Console()

REFERENCE_NOW = datetime(2026, 12, 1, tzinfo=UTC)


def calibration_table(calibration: dict[str, object]) -> Table:
    """The fitted and incumbent scores side by side on the held-out customers."""
    table = Table(title="held-out customers (a fifth, by customer id)")
    table.add_column("score")
    for column in ("observations", "churn rate", "Brier", "AUC", "log loss"):
        table.add_column(column, justify="right")
    for name in ("fitted", "incumbent"):
        report = calibration[name]
        assert isinstance(report, dict)
        table.add_row(
            "fitted" if name == "fitted" else "in force when observed",
            f"{report['observations']:,}",
            f"{report['churn_rate']:.2%}",
            f"{report['brier']:.4f}",
            f"{report['auc']:.3f}",
            f"{report['log_loss']:.4f}",
        )
    return table


def fit_churn(version: str, observations: Path | None, png: Path | None, activate: bool, schema: str | None) -> None:
    """Fit the learned score over the active model's BG/NBD part; print and store its calibration report."""
    from tierflow_cli.churn_files import ObservationFileError, read_observations, reliability_png
    from tierflow_cli.engines import scoring_engine
    from tierflow_common.clock import WallClock
    from tierflow_scoring.application.errors import FitRefused, VersionConflict
    from tierflow_scoring.application.models import LearnedFit, fit_churn_score

    try:
        given = None if observations is None else read_observations(observations)
    except (OSError, ObservationFileError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None

    async def go() -> LearnedFit:
        async with scoring_engine(schema) as engine:
            return await fit_churn_score(
                engine,
                WallClock(),
                version=version,
                observations_given=given,
                source=None if observations is None else f"observations file {observations.name}",
                render=reliability_png,
                activate=activate,
            )

    try:
        learned = asyncio.run(go())
    except (FitRefused, VersionConflict) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    coefficients = ", ".join(f"{k} {v:.3f}" for k, v in learned.fit.logistic.as_mapping().items())
    console.print(f"{version}: intercept {learned.fit.logistic.intercept:.3f}; {coefficients}")
    console.print(f"trained on {learned.fit.trained_on:,} observations; {learned.source}")
    console.print(fit_table(learned.fit))
    verdict = "beats" if learned.fit.beats_incumbent else "does NOT beat"
    active = "; active" if activate else ""
    console.print(f"the fitted score {verdict} the score in force on both AUC and Brier{active}")
    if png is not None:
        png.write_bytes(reliability_png(learned.fit, version))
        console.print(f"reliability curve: {png}")


def report(version: str, png: Path | None, schema: str | None) -> None:
    """Print a stored model's calibration report; write its reliability PNG."""
    from tierflow_cli.engines import scoring_engine
    from tierflow_scoring.application.errors import UnknownVersion
    from tierflow_scoring.application.models import StoredModel, model_report

    async def go() -> StoredModel:
        async with scoring_engine(schema) as engine:
            return await model_report(engine, version)

    try:
        stored = asyncio.run(go())
    except UnknownVersion as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"{version}{' (active)' if stored.active else ''}: {stored.source}")
    if stored.model.logistic is None:
        console.print("hand-set weights (no learned score): no calibration report")
        return
    if stored.calibration is not None:
        console.print(calibration_table(stored.calibration))
    if png is not None:
        if stored.calibration_png is None:
            console.print("[yellow]no stored PNG for this version (it came from a model file)[/]")
            raise typer.Exit(1)
        png.write_bytes(stored.calibration_png)
        console.print(f"reliability curve: {png}")


def reference(customers: int, seed: int, out: Path | None, write_default: Path | None) -> None:
    """The simulator's reference population as observations; optionally the shipped default fitted on it."""
    from tierflow_cli.churn_files import model_file_text, write_observations
    from tierflow_cli.churn_reference import reference_model

    if out is None and write_default is None:
        console.print("[red]give --out and/or --write-default[/]")
        raise typer.Exit(2)
    model, fit, observations, fitted_on = reference_model(customers=customers, seed=seed, now=REFERENCE_NOW)
    if out is not None:
        count = write_observations(out, observations)
        console.print(f"{count:,} observations ({sum(o.churned for o in observations):,} churned): {out}")
    if write_default is not None:
        write_default.write_text(model_file_text(model, fit, fitted_on), encoding="utf-8")
        console.print(f"{model.version}: {write_default}")
        console.print(fit_table(fit))


def fit_table(fit: ChurnFit) -> Table:
    from tierflow_scoring.adapters.churn_models import calibration_document

    return calibration_table(calibration_document(fit))
