"""`tierflow profile ...`: inspect and rebuild customer profiles."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console

from tierflow_cli.devenv import load_dev_env

console = Console()

profile_app = typer.Typer(no_args_is_help=True, help="Inspect and rebuild customer profiles.")


@profile_app.command("show")
def profile_show(
    customer_id: Annotated[str, typer.Argument(help="The customer's pseudonymous id.")],
    schema: Annotated[
        str | None,
        typer.Option(help="The profile service's schema [default: TIERFLOW_PROFILE_DB_SCHEMA, else profile]."),
    ] = None,
) -> None:
    """Print one customer's profile as the service would publish it now (for debugging)."""
    load_dev_env()
    import orjson

    from tierflow_common.clock import WallClock
    from tierflow_common.wiring import database_engine
    from tierflow_profile.application.errors import ProfileNotFound
    from tierflow_profile.application.profiles import current_view
    from tierflow_profile.domain.snapshot import to_json
    from tierflow_profile.settings import ProfileSettings

    settings = ProfileSettings() if schema is None else ProfileSettings(db_schema=schema)

    async def go() -> dict[str, Any]:
        engine = database_engine(settings, application_name="tierflow-cli")
        try:
            return await current_view(engine, WallClock(), customer_id)
        finally:
            await engine.dispose()

    try:
        payload = asyncio.run(go())
    except ProfileNotFound as exc:
        console.print(f"[red]{exc} in schema {settings.db_schema}[/]")
        raise typer.Exit(1) from None
    print(orjson.dumps(orjson.loads(to_json(payload)), option=orjson.OPT_INDENT_2).decode())


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
