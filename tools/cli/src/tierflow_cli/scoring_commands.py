"""`tierflow scoring ...`: tier policies, churn models and scores, through scoring's use cases."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tierflow_cli.devenv import load_dev_env
from tierflow_cli.engines import scoring_engine

console = Console()

scoring_app = typer.Typer(no_args_is_help=True, help="Tier policies, churn models and scores.")
policy_app = typer.Typer(no_args_is_help=True, help="Validate, activate and show tier policies.")
model_app = typer.Typer(no_args_is_help=True, help="Fit, list, report and activate churn models (BG/NBD, learned).")
scoring_app.add_typer(policy_app, name="policy")
scoring_app.add_typer(model_app, name="model")

SchemaOption = Annotated[
    str | None,
    typer.Option(help="The scoring service's schema [default: TIERFLOW_SCORING_DB_SCHEMA, else scoring]."),
]


@policy_app.command("validate")
def policy_validate(path: Annotated[Path, typer.Argument(help="A policy YAML file.")]) -> None:
    """Check a policy file; print every problem, or its version."""
    from tierflow_scoring.application.errors import PolicyInvalid
    from tierflow_scoring.application.policies import read_policy

    try:
        policy = read_policy(path)
    except PolicyInvalid as exc:
        console.print(f"[red]invalid:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"valid: {policy.version} ({policy.description})")


@policy_app.command("activate")
def policy_activate(
    path: Annotated[Path, typer.Argument(help="A policy YAML file.")],
    schema: SchemaOption = None,
) -> None:
    """Store a policy version and make it the active one: every customer is re-scored under it."""
    load_dev_env()
    from tierflow_common.clock import WallClock
    from tierflow_scoring.application.errors import PolicyInvalid, VersionConflict
    from tierflow_scoring.application.policies import PolicyActivated, activate_policy_file

    async def go() -> PolicyActivated:
        async with scoring_engine(schema) as engine:
            return await activate_policy_file(engine, WallClock(), path)

    try:
        activated = asyncio.run(go())
    except PolicyInvalid as exc:
        console.print(f"[red]invalid, nothing applied:[/] {exc}")
        raise typer.Exit(1) from None
    except VersionConflict as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(
        f"{activated.policy.version} is active"
        + ("; every customer will be re-scored" if activated.changed else " (already was)")
    )


@policy_app.command("show")
def policy_show(schema: SchemaOption = None) -> None:
    """Print the active policy as YAML."""
    load_dev_env()
    import yaml

    from tierflow_scoring.application.errors import NoActivePolicy
    from tierflow_scoring.application.policies import active_policy
    from tierflow_scoring.domain.policy import TierPolicy

    async def go() -> TierPolicy:
        async with scoring_engine(schema) as engine:
            return await active_policy(engine)

    try:
        policy = asyncio.run(go())
    except NoActivePolicy as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    print(yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False))


@model_app.command("fit")
def model_fit(
    version: Annotated[str, typer.Option(help="Name of the new model version.")],
    kind: Annotated[str, typer.Option(help="bgnbd: P(alive)'s parameters; churn: the learned score.")] = "bgnbd",
    csv: Annotated[Path | None, typer.Option(help="bgnbd: a CSV with columns frequency, recency, T.")] = None,
    time_unit: Annotated[str, typer.Option(help="bgnbd: unit of the CSV's recency and T: days or weeks.")] = "days",
    observations: Annotated[
        Path | None, typer.Option(help="churn: a JSON Lines file of observations [default: the stored, matured].")
    ] = None,
    png: Annotated[Path | None, typer.Option(help="churn: also write the reliability curve here.")] = None,
    activate: Annotated[bool, typer.Option(help="Make it the active model (re-scores everyone).")] = False,
    schema: SchemaOption = None,
) -> None:
    """Fit BG/NBD parameters from the stored customers (or a CSV), or the learned churn score from churn
    observations (with its calibration report), and store the result as a new model version."""
    load_dev_env()
    if kind == "churn":
        from tierflow_cli.churn_model_commands import fit_churn

        fit_churn(version, observations, png, activate, schema)
        return
    if kind != "bgnbd":
        console.print("[red]--kind is bgnbd or churn[/]")
        raise typer.Exit(2)
    from tierflow_common.clock import WallClock
    from tierflow_scoring.application.errors import FitRefused, VersionConflict
    from tierflow_scoring.application.models import TIME_UNITS, fit_model
    from tierflow_scoring.domain.fitting import FitResult

    if time_unit not in TIME_UNITS:
        console.print("[red]--time-unit is days or weeks[/]")
        raise typer.Exit(2)

    async def go() -> FitResult:
        async with scoring_engine(schema) as engine:
            return await fit_model(
                engine, WallClock(), version=version, csv=csv, time_unit=time_unit, activate=activate
            )

    try:
        result = asyncio.run(go())
    except (FitRefused, VersionConflict) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    m = result.model
    console.print(
        f"{version}: r={m.r:.4f} alpha={m.alpha:.4f} a={m.a:.4f} b={m.b:.4f} ({m.time_unit}) from "
        f"{result.customers} customers, log-likelihood {result.log_likelihood:.2f}" + ("; active" if activate else "")
    )


@model_app.command("list")
def model_list(schema: SchemaOption = None) -> None:
    """The stored churn models; the active one is marked."""
    load_dev_env()
    from tierflow_scoring.application.models import StoredModel, list_models

    async def go() -> list[StoredModel]:
        async with scoring_engine(schema) as engine:
            return await list_models(engine)

    for stored in asyncio.run(go()):
        mark = "*" if stored.active else " "
        m = stored.model
        score = "hand-set score" if m.logistic is None else "learned score"
        console.print(
            f"{mark} {m.version}: r={m.r:.4f} alpha={m.alpha:.4f} a={m.a:.4f} b={m.b:.4f} "
            f"({m.time_unit}), {score}, {stored.customers} customers, {stored.source}"
        )


@model_app.command("report")
def model_report(
    version: Annotated[str, typer.Argument(help="A stored model version.")],
    png: Annotated[Path | None, typer.Option(help="Write the stored reliability curve here.")] = None,
    schema: SchemaOption = None,
) -> None:
    """A stored model's calibration report (Brier, AUC, log loss on its held-out customers)."""
    load_dev_env()
    from tierflow_cli.churn_model_commands import report

    report(version, png, schema)


@model_app.command("reference")
def model_reference(
    customers: Annotated[int, typer.Option(help="Size of the simulated population.")] = 60_000,
    seed: Annotated[int, typer.Option(help="The population's seed.")] = 2026,
    out: Annotated[Path | None, typer.Option(help="Write the observations (JSON Lines) here.")] = None,
    write_default: Annotated[Path | None, typer.Option(help="Write the model file fitted on them here.")] = None,
) -> None:
    """The simulator's reference population as churn observations, and the model fitted on it."""
    from tierflow_cli.churn_model_commands import reference

    reference(customers, seed, out, write_default)


@model_app.command("activate")
def model_activate(
    version: Annotated[str, typer.Argument(help="A stored model version.")],
    schema: SchemaOption = None,
) -> None:
    """Make a stored model the active one (re-scores everyone)."""
    load_dev_env()
    from tierflow_common.clock import WallClock
    from tierflow_scoring.application.errors import UnknownVersion
    from tierflow_scoring.application.models import activate_model

    async def go() -> None:
        async with scoring_engine(schema) as engine:
            await activate_model(engine, WallClock(), version)

    try:
        asyncio.run(go())
    except UnknownVersion as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"{version} is active; every customer will be re-scored")


@scoring_app.command("show")
def scoring_show(
    customer_id: Annotated[str, typer.Argument(help="The customer's pseudonymous id.")],
    schema: SchemaOption = None,
) -> None:
    """Print one customer's tier, churn figures, reasons and next review."""
    load_dev_env()
    import msgspec

    from tierflow_scoring.application.errors import ScoreNotFound
    from tierflow_scoring.application.scores import score_of
    from tierflow_scoring.domain.score import ScoreState

    async def go() -> ScoreState:
        async with scoring_engine(schema) as engine:
            return await score_of(engine, customer_id)

    try:
        state = asyncio.run(go())
    except ScoreNotFound as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    print(msgspec.json.format(msgspec.json.encode(msgspec.structs.asdict(state)), indent=2).decode())
