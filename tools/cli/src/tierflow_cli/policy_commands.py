"""`tierflow policy ...`: the routing policy, evaluated on the decision log before it is uploaded.

(`tierflow scoring policy` is the tier policy; this is routing's.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tierflow_cli.devenv import load_dev_env
from tierflow_cli.experiment_commands import SchemaOption, routing_engine

if TYPE_CHECKING:
    from tierflow_routing.domain.backtest import Backtest, Estimate

console = Console()

policy_app = typer.Typer(no_args_is_help=True, help="Routing policies: backtest a candidate on the decision log.")

UNSUPPORTED_EXIT = 2


@policy_app.command("backtest")
def backtest(
    file: Annotated[Path, typer.Argument(help="The candidate routing policy (YAML, as for POST /v1/policies).")],
    window: Annotated[int, typer.Option(help="The outcome window in days: 7, 30 or 90.")] = 30,
    since: Annotated[
        datetime | None, typer.Option(help="Only decisions made at or after (a date or time; UTC without offset).")
    ] = None,
    supported_only: Annotated[
        bool, typer.Option("--supported-only", help="Estimate on the supported decisions only, instead of refusing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    schema: SchemaOption = None,
) -> None:
    """Estimate the candidate's outcome rates from the logged decisions and outcomes by inverse propensity
    weighting (IPW and self-normalised, 95% normal intervals). Exits 2 when the log gives the candidate's
    choices no support (docs/experiments.md, "Backtesting a policy")."""
    load_dev_env()
    from tierflow_routing.application.backtests import backtest_policy
    from tierflow_routing.application.errors import CandidateUnsupported, ReportInvalid
    from tierflow_routing.domain.policy import RoutingPolicyError, load_routing_policy

    try:
        candidate = load_routing_policy(file)
    except (OSError, RoutingPolicyError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    start = None if since is None else (since if since.tzinfo else since.replace(tzinfo=UTC))

    async def go() -> Backtest:
        async with routing_engine(schema) as engine:
            return await backtest_policy(
                engine, candidate, window_days=window, since=start, supported_only=supported_only
            )

    try:
        result = asyncio.run(go())
    except CandidateUnsupported as exc:
        Console(stderr=True).print(f"[red]refused:[/] {exc}", highlight=False)
        raise typer.Exit(UNSUPPORTED_EXIT) from None
    except ReportInvalid as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(as_document(result, window_days=window, since=start), indent=2))
        return
    for line in summary_lines(result, window_days=window):
        console.print(line, highlight=False)
    console.print(backtest_table(result, window_days=window))


def as_document(result: Backtest, *, window_days: int, since: datetime | None) -> dict[str, Any]:
    """The result as JSON-ready data (--json)."""
    document = dataclasses.asdict(result)
    document["unsupported_decisions"] = result.unsupported_decisions
    finite: dict[str, Any] = _finite({"window_days": window_days, "since": since and since.isoformat()} | document)
    return finite


def _finite(value: Any) -> Any:
    """JSON has no infinity: an interval that cannot be computed (one decision) reads as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def summary_lines(result: Backtest, *, window_days: int) -> list[str]:
    """What the estimates are on, and what was left out."""
    lines = [
        f"candidate {result.candidate}: {window_days}-day outcomes of {result.decisions:,} logged decisions "
        f"with a matured window; estimated on {result.supported:,}"
    ]
    lines += [f"  skipped {count:,}: {why}" for why, count in result.skipped.items()]
    if result.unsupported:
        lines.append(
            f"  [bold]SUPPORTED DECISIONS ONLY:[/] {result.unsupported_decisions:,} decisions where the candidate "
            "chooses an action the log never took are left out; the estimates are for the others, not for "
            "everyone the candidate would route:"
        )
        lines += [
            f"    rule {g.candidate_rule}: candidate {g.candidate_action}, logged {g.logged_action}: {g.decisions:,}"
            for g in result.unsupported
        ]
    if result.mean_weight is not None:
        lines.append(f"  mean weight {result.mean_weight:.3f} (about 1 when the log supports the candidate well)")
    return lines


def _shown(outcome: str, value: float) -> str:
    return f"{value:,.0f} CNY" if outcome == "net_inflow" else f"{value:.1%}"


def _estimate(outcome: str, estimate: Estimate | None) -> str:
    if estimate is None:
        return "-"
    low, high = estimate.interval.low, estimate.interval.high
    return f"{_shown(outcome, estimate.value)} [{_shown(outcome, low)}, {_shown(outcome, high)}]"


def backtest_table(result: Backtest, *, window_days: int) -> Table:
    """Per outcome: the logged rate, the candidate's IPW and SNIPW estimates with intervals, n, ESS, unsupported."""
    confidence = result.estimates[0].ipw.interval.confidence if result.estimates else 0.95
    table = Table(
        "outcome",
        "logged",
        f"candidate IPW [{confidence:.0%}]",
        f"candidate SNIPW [{confidence:.0%}]",
        "n",
        "ESS",
        "unsupported",
        title=f"{result.candidate}: {window_days}-day outcomes (normal-approximation intervals)",
    )
    for e in result.estimates:
        table.add_row(
            e.outcome,
            _shown(e.outcome, e.logged),
            _estimate(e.outcome, e.ipw),
            _estimate(e.outcome, e.snipw),
            f"{e.n:,}",
            f"{e.effective_sample_size:,.0f}",
            f"{result.unsupported_decisions:,}",
        )
    return table
