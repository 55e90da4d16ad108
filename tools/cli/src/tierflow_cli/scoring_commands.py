"""`tierflow scoring ...`: tier policies, churn models and scores."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tierflow_cli.devenv import load_dev_env

console = Console()

scoring_app = typer.Typer(no_args_is_help=True, help="Tier policies, churn models and scores.")
policy_app = typer.Typer(no_args_is_help=True, help="Validate, activate and show tier policies.")
model_app = typer.Typer(no_args_is_help=True, help="Fit, list and activate BG/NBD churn models.")
scoring_app.add_typer(policy_app, name="policy")
scoring_app.add_typer(model_app, name="model")


def _scoring_engine(schema: str):  # type: ignore[no-untyped-def]
    from tierflow_common.config import InfraSettings
    from tierflow_common.db.engine import create_engine

    return create_engine(
        InfraSettings().database_url.get_secret_value(), schema=schema, application_name="tierflow-cli"
    )


@policy_app.command("validate")
def policy_validate(path: Annotated[Path, typer.Argument(help="A policy YAML file.")]) -> None:
    """Check a policy file; print every problem, or its version."""
    from tierflow_scoring.domain.policy import PolicyError, load_policy

    try:
        policy = load_policy(path)
    except PolicyError as exc:
        console.print(f"[red]invalid:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"valid: {policy.version} ({policy.description})")


@policy_app.command("activate")
def policy_activate(
    path: Annotated[Path, typer.Argument(help="A policy YAML file.")],
    schema: Annotated[str, typer.Option(help="The scoring service's schema.")] = "scoring",
) -> None:
    """Store a policy version and make it the active one: every customer is re-scored under it."""
    load_dev_env()
    from datetime import UTC, datetime

    from tierflow_scoring.adapters.registry import RegistryError, store_policy
    from tierflow_scoring.domain.policy import PolicyError, load_policy

    try:
        policy = load_policy(path)
    except PolicyError as exc:
        console.print(f"[red]invalid, nothing applied:[/] {exc}")
        raise typer.Exit(1) from None

    async def go() -> bool:
        engine = _scoring_engine(schema)
        try:
            async with engine.begin() as conn:
                return await store_policy(conn, policy, now=datetime.now(UTC), activate=True)
        finally:
            await engine.dispose()

    try:
        changed = asyncio.run(go())
    except RegistryError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(
        f"{policy.version} is active" + ("; every customer will be re-scored" if changed else " (already was)")
    )


@policy_app.command("show")
def policy_show(schema: Annotated[str, typer.Option(help="The scoring service's schema.")] = "scoring") -> None:
    """Print the active policy as YAML."""
    load_dev_env()
    import yaml

    from tierflow_scoring.adapters.registry import active_policy

    async def go() -> object:
        engine = _scoring_engine(schema)
        try:
            async with engine.connect() as conn:
                return await active_policy(conn)
        finally:
            await engine.dispose()

    policy = asyncio.run(go())
    if policy is None:
        console.print("[red]no active policy (the scoring service installs the default when it starts)[/]")
        raise typer.Exit(1)
    print(yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False))  # type: ignore[attr-defined]


@model_app.command("fit")
def model_fit(
    version: Annotated[str, typer.Option(help="Name of the new model version.")],
    csv: Annotated[Path | None, typer.Option(help="A CSV with columns frequency, recency, T.")] = None,
    time_unit: Annotated[str, typer.Option(help="Unit of the CSV's recency and T: days or weeks.")] = "days",
    activate: Annotated[bool, typer.Option(help="Make it the active model (re-scores everyone).")] = False,
    schema: Annotated[str, typer.Option(help="The scoring service's schema.")] = "scoring",
) -> None:
    """Fit BG/NBD parameters by maximum likelihood from the stored customers (or a CSV) and store them."""
    load_dev_env()
    import csv as csv_module
    from datetime import UTC, datetime

    from tierflow_scoring.adapters.registry import store_model
    from tierflow_scoring.adapters.repository import repeat_statistics
    from tierflow_scoring.domain.fitting import fit_bgnbd

    if time_unit not in ("days", "weeks"):
        console.print("[red]--time-unit is days or weeks[/]")
        raise typer.Exit(2)

    async def go() -> None:
        engine = _scoring_engine(schema)
        now = datetime.now(UTC)
        try:
            if csv is not None:
                with csv.open() as handle:
                    rows = [
                        (float(r["frequency"]), float(r["recency"]), float(r["T"]))
                        for r in csv_module.DictReader(handle)
                    ]
                source, unit = f"csv {csv.name}", time_unit
            else:
                async with engine.connect() as conn:
                    rows = await repeat_statistics(conn, at=now)
                source, unit = f"stored customers at {now:%Y-%m-%d %H:%M}Z", "days"
            result = fit_bgnbd(
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], version=version, time_unit=unit
            )
            async with engine.begin() as conn:
                await store_model(conn, result.model, now=now, activate=activate, source=source, fit=result)
        finally:
            await engine.dispose()
        m = result.model
        console.print(
            f"{version}: r={m.r:.4f} alpha={m.alpha:.4f} a={m.a:.4f} b={m.b:.4f} ({m.time_unit}) from "
            f"{result.customers} customers, log-likelihood {result.log_likelihood:.2f}"
            + ("; active" if activate else "")
        )

    asyncio.run(go())


@model_app.command("list")
def model_list(schema: Annotated[str, typer.Option(help="The scoring service's schema.")] = "scoring") -> None:
    """The stored churn models; the active one is marked."""
    load_dev_env()
    from tierflow_scoring.adapters.registry import list_models

    async def go() -> list[dict[str, object]]:
        engine = _scoring_engine(schema)
        try:
            async with engine.connect() as conn:
                return await list_models(conn)
        finally:
            await engine.dispose()

    for m in asyncio.run(go()):
        mark = "*" if m["active"] else " "
        console.print(
            f"{mark} {m['version']}: r={m['r']:.4f} alpha={m['alpha']:.4f} a={m['a']:.4f} b={m['b']:.4f} "
            f"({m['time_unit']}), {m['customers']} customers, {m['source']}"
        )


@model_app.command("activate")
def model_activate(
    version: Annotated[str, typer.Argument(help="A stored model version.")],
    schema: Annotated[str, typer.Option(help="The scoring service's schema.")] = "scoring",
) -> None:
    """Make a stored model the active one (re-scores everyone)."""
    load_dev_env()
    from datetime import UTC, datetime

    from tierflow_scoring.adapters.registry import RegistryError, activate_model

    async def go() -> None:
        engine = _scoring_engine(schema)
        try:
            async with engine.begin() as conn:
                await activate_model(conn, version, now=datetime.now(UTC))
        finally:
            await engine.dispose()

    try:
        asyncio.run(go())
    except RegistryError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"{version} is active; every customer will be re-scored")


@scoring_app.command("show")
def scoring_show(
    customer_id: Annotated[str, typer.Argument(help="The customer's pseudonymous id.")],
    schema: Annotated[str, typer.Option(help="The scoring service's schema.")] = "scoring",
) -> None:
    """Print one customer's tier, churn figures, reasons and next review."""
    load_dev_env()
    import msgspec

    from tierflow_scoring.adapters.repository import get_score

    async def go() -> object:
        engine = _scoring_engine(schema)
        try:
            async with engine.connect() as conn:
                return await get_score(conn, customer_id=customer_id)
        finally:
            await engine.dispose()

    state = asyncio.run(go())
    if state is None:
        console.print(f"[red]no score for {customer_id}[/]")
        raise typer.Exit(1)
    print(msgspec.json.format(msgspec.json.encode(msgspec.structs.asdict(state)), indent=2).decode())  # type: ignore[arg-type]
