"""`tierflow experiments ...`: what the experiments and the holdout achieved, through routing's use cases."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from tierflow_cli.devenv import load_dev_env
from tierflow_cli.engines import service_engine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from tierflow_routing.application.experiments import ExperimentReport

console = Console()

experiments_app = typer.Typer(no_args_is_help=True, help="Experiments and the global holdout: list and report.")

SchemaOption = Annotated[
    str | None,
    typer.Option(help="The routing service's schema [default: TIERFLOW_ROUTING_DB_SCHEMA, else routing]."),
]


def routing_engine(schema: str | None) -> AbstractAsyncContextManager[AsyncEngine]:
    """An engine on the routing service's schema, from its settings (TIERFLOW_ROUTING_*, DATABASE_URL)."""
    from tierflow_routing.settings import RoutingSettings

    return service_engine(RoutingSettings() if schema is None else RoutingSettings(db_schema=schema))


@experiments_app.command("list")
def list_experiments(schema: SchemaOption = None) -> None:
    """Every experiment and holdout any routing policy version defines."""
    load_dev_env()
    from datetime import UTC, datetime

    from tierflow_routing.application.experiments import ExperimentSummary
    from tierflow_routing.application.experiments import list_experiments as listed

    async def go() -> list[ExperimentSummary]:
        async with routing_engine(schema) as engine:
            return await listed(engine, now=datetime.now(UTC))

    table = Table("id", "kind", "status", "arms (share)")
    for s in asyncio.run(go()):
        table.add_row(s.id, s.kind, s.status, ", ".join(f"{a.name} ({a.share:.1%})" for a in s.arms))
    console.print(table)


@experiments_app.command("report")
def report(
    experiment_id: Annotated[str, typer.Argument(help="An experiment's or the holdout's id.")],
    outcome: Annotated[str, typer.Option(help="returned, traded_again, logged_in, kept_or_regained_tier, ...")] = (
        "returned"
    ),
    flow: Annotated[str | None, typer.Option(help="Only decisions of this flow.")] = None,
    control: Annotated[str | None, typer.Option(help="The control arm [default: control, or holdout].")] = None,
    png: Annotated[Path | None, typer.Option(help="The chart's file [default: <id>.png].")] = None,
    schema: SchemaOption = None,
) -> None:
    """Print each arm's outcome rate and difference to the control (raw and CUPED) for the 7, 30 and 90-day windows,
    and write a PNG of the cumulative outcome rate per arm over the windows."""
    load_dev_env()
    from datetime import UTC, datetime

    from tierflow_routing.application.errors import ReportInvalid, UnknownExperiment
    from tierflow_routing.application.experiments import experiment_report
    from tierflow_routing.domain.outcomes import WINDOW_DAYS

    async def go() -> list[ExperimentReport]:
        async with routing_engine(schema) as engine:
            now = datetime.now(UTC)
            return [
                await experiment_report(
                    engine, experiment_id, now=now, window_days=days, outcome=outcome, flow=flow, control=control
                )
                for days in WINDOW_DAYS
            ]

    try:
        reports = asyncio.run(go())
    except (UnknownExperiment, ReportInvalid) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    for r in reports:
        console.print(report_table(r))
        if r.note:
            console.print(f"  {r.note}")
    target = png or Path(f"{experiment_id}.png")
    write_chart(reports, target)
    console.print(f"chart: {target}")


def report_table(r: ExperimentReport) -> Table:
    """One window's report: customers, rate and interval per arm, differences to the control, power."""
    title = f"{r.experiment.id}: {r.outcome} within {r.window_days} days (control: {r.control})"
    table = Table("arm", "customers", "rate [95%]", "raw difference [95%]", "CUPED [95%]", "enough?", title=title)
    compared = {} if r.comparison is None else {a.rate.arm: a for a in r.comparison.arms}
    rates = {} if r.comparison is None else {r.comparison.control.arm: r.comparison.control}
    rates |= {arm: c.rate for arm, c in compared.items()}

    def pts(low: float, high: float) -> str:
        return f"[{low * 100:+.1f}, {high * 100:+.1f}]"

    for sample in r.samples:
        rate, c = rates.get(sample.arm), compared.get(sample.arm)
        shown = "-" if rate is None else f"{rate.rate:.1%} [{rate.interval.low:.1%}, {rate.interval.high:.1%}]"
        raw = "-" if c is None else f"{c.raw.estimate * 100:+.1f} pts " + pts(c.raw.interval.low, c.raw.interval.high)
        adj = (
            "-"
            if c is None or c.adjusted is None
            else f"{c.adjusted.estimate * 100:+.1f} pts " + pts(c.adjusted.interval.low, c.adjusted.interval.high)
        )
        enough = "-" if c is None else ("yes" if c.power.enough else f"no (needs {c.power.required_per_arm:,}/arm)")
        table.add_row(sample.arm, f"{sample.customers:,}", shown, raw, adj, enough)
    return table


def write_chart(reports: Sequence[ExperimentReport], target: Path) -> None:
    """Cumulative outcome rate per arm at 7, 30 and 90 days, with each rate's Wilson interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tierflow_routing.domain.experiment_stats import wilson_interval

    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=120)
    arms = [s.arm for s in reports[0].samples]
    for arm in arms:
        days, rates, lows, highs = [], [], [], []
        for r in reports:
            sample = next(s for s in r.samples if s.arm == arm)
            if sample.customers == 0:
                continue
            interval = wilson_interval(sample.successes, sample.customers)
            days.append(r.window_days)
            rates.append(sample.rate * 100)
            lows.append(interval.low * 100)
            highs.append(interval.high * 100)
        if days:
            axes.plot(days, rates, marker="o", label=arm)
            axes.fill_between(days, lows, highs, alpha=0.15)
    first = reports[0]
    axes.set_title(f"{first.experiment.id}: {first.outcome} by days after the decision")
    axes.set_xlabel("days after the decision")
    axes.set_ylabel(f"{first.outcome} (% of customers)")
    axes.set_xticks([r.window_days for r in reports])
    axes.grid(alpha=0.3)
    axes.legend(title="arm")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target)
    plt.close(figure)
