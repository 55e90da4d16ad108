"""`tierflow profile ...`: inspect and rebuild customer profiles."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from tierflow_cli.devenv import load_dev_env

console = Console()

profile_app = typer.Typer(no_args_is_help=True, help="Inspect and rebuild customer profiles.")


@profile_app.command("show")
def profile_show(
    customer_id: Annotated[str, typer.Argument(help="The customer's pseudonymous id.")],
    schema: Annotated[str, typer.Option(help="The profile service's schema.")] = "profile",
) -> None:
    """Print one customer's profile as the service would publish it now (for debugging)."""
    load_dev_env()
    from datetime import UTC, datetime

    import orjson

    from tierflow_common.config import InfraSettings
    from tierflow_common.db.engine import create_engine
    from tierflow_profile.adapters import repository
    from tierflow_profile.domain.snapshot import settle, to_json, view

    async def go() -> None:
        engine = create_engine(
            InfraSettings().database_url.get_secret_value(), schema=schema, application_name="tierflow-cli"
        )
        try:
            async with engine.connect() as conn:
                profile = await repository.get_profile(conn, customer_id=customer_id)
        finally:
            await engine.dispose()
        if profile is None:
            console.print(f"[red]no profile for {customer_id} in schema {schema}[/]")
            raise typer.Exit(1)
        now = datetime.now(UTC)
        settle(profile, now)
        print(orjson.dumps(orjson.loads(to_json(view(profile, now))), option=orjson.OPT_INDENT_2).decode())

    asyncio.run(go())


@profile_app.command("rebuild")
def profile_rebuild(
    customer: Annotated[str | None, typer.Option(help="Rebuild only this customer.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Start at this time (RFC 3339) instead of the beginning of the topics.")
    ] = None,
    schema: Annotated[str, typer.Option(help="Target schema (a shadow copy by default).")] = "profile_rebuild",
    in_place: Annotated[
        bool, typer.Option(help="Write into the live schema (stop the profile service first).")
    ] = False,
    publish: Annotated[bool, typer.Option(help="Publish the rebuilt versions to tierflow.profile.v1.")] = False,
) -> None:
    """Rebuild profiles from the input topics in event-time mode, with a progress bar and a final count."""
    load_dev_env()
    from datetime import datetime

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from tierflow_profile.rebuild import rebuild
    from tierflow_profile.settings import ProfileSettings

    settings = ProfileSettings()
    target = settings.db_schema if in_place else schema
    if not in_place and target == settings.db_schema:
        console.print("[red]the target is the live schema: pass --in-place to mean it[/]")
        raise typer.Exit(2)
    start = None if since is None else datetime.fromisoformat(since)
    with Progress(TextColumn("[bold]rebuild"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("rebuild", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = asyncio.run(
            rebuild(settings, schema=target, customer_id=customer, since=start, publish=publish, progress=progress)
        )
    console.print(
        f"rebuilt {report.customers} customer(s) into schema {report.schema}: read {report.read} messages, "
        f"applied {report.applied}, duplicates {report.duplicates}, skipped (contract) {report.skipped}"
    )
