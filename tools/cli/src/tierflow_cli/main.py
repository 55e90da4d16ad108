"""The `tierflow` command line."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tierflow_cli.devenv import load_dev_env
from tierflow_cli.experiment_commands import experiments_app
from tierflow_cli.policy_commands import policy_app
from tierflow_cli.profile_commands import profile_app
from tierflow_cli.scoring_commands import scoring_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="tierflow: customer tiering and channel routing.")
app.add_typer(profile_app, name="profile")
app.add_typer(scoring_app, name="scoring")
app.add_typer(experiments_app, name="experiments")
app.add_typer(policy_app, name="policy")
console = Console()


@app.command()
def run(
    simulate: Annotated[bool, typer.Option(help="Feed the system with simulated events.")] = True,
    customers: Annotated[int, typer.Option(help="Simulated customers.")] = 2000,
    events: Annotated[int, typer.Option(help="Simulated history events (then a live stream).")] = 40_000,
    rate: Annotated[float, typer.Option(help="Live events per second after the history.")] = 20.0,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 42,
    partitions: Annotated[int, typer.Option(help="Partitions per topic.")] = 6,
    api_port: Annotated[int, typer.Option(help="Routing API port (a free one if taken).")] = 8000,
    verbose: Annotated[bool, typer.Option(help="Show service logs here instead of .tierflow/logs/.")] = False,
    experiment: Annotated[bool, typer.Option(help="Start the demo experiment and holdout (with --simulate).")] = True,
) -> None:
    """Start everything (embedded Kafka, PostgreSQL and Redis unless configured) and keep it running."""
    from tierflow_cli.stack import StackOptions, run_stack
    from tierflow_simulator.simulate import SimulationOptions

    options = StackOptions(
        partitions=partitions,
        api_port=api_port,
        simulate=simulate,
        simulation=SimulationOptions(
            customers=customers, events=events, seed=seed, rate=rate, follow=True, duplicate_rate=0.01
        ),
        verbose=verbose,
        experiment=experiment,
    )
    raise typer.Exit(asyncio.run(run_stack(options)))


@app.command()
def simulate(
    customers: Annotated[int, typer.Option(help="Customers in the population.")] = 2000,
    events: Annotated[int, typer.Option(help="History events to produce.")] = 40_000,
    seed: Annotated[int, typer.Option(help="Same seed, same events.")] = 42,
    rate: Annotated[float, typer.Option(help="Events per second (0: as fast as possible).")] = 0.0,
    follow: Annotated[bool, typer.Option(help="Keep producing live events after the history.")] = False,
    duplicate_rate: Annotated[float, typer.Option(help="Share of events sent twice.")] = 0.0,
    malformed_rate: Annotated[float, typer.Option(help="Share of extra malformed events.")] = 0.0,
    effects: Annotated[
        Path | None,
        typer.Option(help="True flow effects (YAML, tools/simulator/effects/example.yaml): needs --follow."),
    ] = None,
) -> None:
    """Produce a synthetic brokerage's events to the input topics (KAFKA_BOOTSTRAP_SERVERS)."""
    load_dev_env()
    from tierflow_simulator.behaviour import EffectsError, load_effects

    true_effects = None
    if effects is not None:
        if not follow:
            console.print("[red]--effects changes the live stream: add --follow.[/]")
            raise typer.Exit(2)
        try:
            true_effects = load_effects(effects)
        except EffectsError as error:
            console.print(f"[red]{error}[/]")
            raise typer.Exit(2) from error
    from tierflow_common.config import InfraSettings
    from tierflow_common.events.topics import Topics
    from tierflow_common.kafka.connection import client_options
    from tierflow_common.kafka.producer import EventProducer
    from tierflow_simulator.simulate import SimulationOptions, run_simulation

    async def go() -> None:
        infra = InfraSettings()
        producer = EventProducer(client_options(infra), client_id="tierflow-simulator")
        await producer.start()
        try:
            report = await run_simulation(
                producer,
                SimulationOptions(
                    customers=customers,
                    events=events,
                    seed=seed,
                    rate=rate,
                    follow=follow,
                    duplicate_rate=duplicate_rate,
                    malformed_rate=malformed_rate,
                    effects=true_effects,
                ),
                topics=Topics(infra.topic_prefix),
            )
        finally:
            await producer.stop()
        console.print(f"produced {report.total} events in {report.seconds:.1f}s: {dict(report.produced)}")

    asyncio.run(go())


TOKEN_APIS = {"routing": "TIERFLOW_ROUTING_", "tasks": "TIERFLOW_NOTIFICATION_"}


@app.command()
def token(
    scope: Annotated[list[str], typer.Option(help="Scopes (repeat the option).")] = ["route:read"],  # noqa: B006
    customer: Annotated[str | None, typer.Option(help="customer_id claim (for route:read:self).")] = None,
    advisor: Annotated[str | None, typer.Option(help="advisor_id claim (an advisor's task:read / task:write).")] = None,
    subject: Annotated[str, typer.Option(help="sub claim.")] = "dev-user",
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds (at most the API's JWT_MAX_LIFETIME_S).")] = 12 * 3600,
    api: Annotated[
        str | None,
        typer.Option(help="routing or tasks: whose secret signs it. Default: tasks when every scope is task:*."),
    ] = None,
) -> None:
    """Print a development JWT signed with the running stack's secret (never in TIERFLOW_ENV=production)."""
    load_dev_env()
    from tierflow_common.auth import DEFAULT_MAX_LIFETIME_S, mint_token

    environment = os.environ.get("TIERFLOW_ENV", "production")
    if environment == "production":
        console.print(
            "[red]tierflow token signs development tokens; TIERFLOW_ENV is production (the default when unset). "
            "Production tokens come from the identity provider.[/]"
        )
        raise typer.Exit(2)
    which = api or ("tasks" if scope and all(s.startswith("task:") for s in scope) else "routing")
    if which not in TOKEN_APIS:
        console.print(f"[red]--api is routing or tasks, not {which}.[/]")
        raise typer.Exit(2)
    prefix = TOKEN_APIS[which]
    # The development stack signs both APIs' tokens with one secret; the chart gives each its own.
    secret = os.environ.get(f"{prefix}JWT_SECRET") or os.environ.get("TIERFLOW_ROUTING_JWT_SECRET")
    if not secret:
        console.print(f"[red]{prefix}JWT_SECRET is not set and no stack is running (make run).[/]")
        raise typer.Exit(2)
    longest = int(os.environ.get(f"{prefix}JWT_MAX_LIFETIME_S", DEFAULT_MAX_LIFETIME_S))
    if ttl > longest:
        console.print(
            f"[red]--ttl {ttl} is over the API's maximum token lifetime ({longest} s): it would be refused.[/]"
        )
        raise typer.Exit(2)
    audience = os.environ.get(f"{prefix}JWT_AUDIENCE", "tierflow")
    print(
        mint_token(
            secret=secret,
            subject=subject,
            scopes=scope,
            customer_id=customer,
            advisor_id=advisor,
            audience=audience,
            ttl_s=ttl,
        )
    )


@app.command()
def migrate() -> None:
    """Apply every service's migrations to DATABASE_URL (each in its own schema)."""
    load_dev_env()
    from tierflow_cli.services import MIGRATIONS
    from tierflow_common.config import InfraSettings
    from tierflow_common.db.migrations import upgrade_to_head

    url = InfraSettings().database_url.get_secret_value()
    for name, (directory, schema) in MIGRATIONS.items():
        upgrade_to_head(directory, database_url=url, schema=schema)
        console.print(f"[green]{name}[/] migrated")


@app.command()
def topics(
    partitions: Annotated[int, typer.Option(help="Partitions per new topic.")] = 6,
    replication_factor: Annotated[int, typer.Option(help="Replicas per new topic (3 on a production cluster).")] = 1,
    min_insync_replicas: Annotated[
        int | None,
        typer.Option(help="min.insync.replicas of every new topic. Default: 2 with 3 replicas or more, else 1."),
    ] = None,
    dead_letter_retention_days: Annotated[
        float, typer.Option(help="How long the dead-letter topic keeps messages (its retention.ms), in days.")
    ] = 90,
) -> None:
    """Create the contract's topics on KAFKA_BOOTSTRAP_SERVERS (existing ones are left alone)."""
    load_dev_env()
    from tierflow_common.config import InfraSettings
    from tierflow_common.events.topics import Topics
    from tierflow_common.kafka.admin import ensure_topics
    from tierflow_common.kafka.connection import client_options

    infra = InfraSettings()
    try:
        created = asyncio.run(
            ensure_topics(
                client_options(infra),
                Topics(infra.topic_prefix).all,
                partitions=partitions,
                replication=replication_factor,
                min_insync_replicas=min_insync_replicas,
                dead_letter_retention_days=dead_letter_retention_days,
            )
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    console.print(f"created: {created or 'nothing (all exist)'}")


@app.command()
def schemas(
    check: Annotated[bool, typer.Option(help="Fail if the files differ from the models.")] = False,
    directory: Annotated[Path, typer.Option(help="Where the schemas live.")] = Path("schemas"),
) -> None:
    """Write (or check) schemas/*.json from the pydantic event models."""
    from tierflow_common.events.schemas import write_schemas

    stale = write_schemas(directory, check_only=check)
    if check and stale:
        console.print(f"[red]schemas out of date:[/] {', '.join(stale)}; run `tierflow schemas`")
        raise typer.Exit(1)
    console.print("schemas up to date" if check else f"wrote {directory}/")


@app.command()
def bench(
    scenario: Annotated[
        str,
        typer.Argument(help="all, pipeline, profile, storage, scoring, sweeper, notification, recurring, api; soak."),
    ] = "all",
    partitions: Annotated[int, typer.Option(help="Partitions per topic.")] = 6,
    pipeline_events: Annotated[int, typer.Option(help="pipeline: events.")] = 200_000,
    pipeline_customers: Annotated[int, typer.Option(help="pipeline: customers.")] = 20_000,
    profile_events: Annotated[int, typer.Option(help="profile: events.")] = 1_000_000,
    profile_customers: Annotated[int, typer.Option(help="profile: customers.")] = 100_000,
    profile_batch: Annotated[int, typer.Option(help="profile: batch_max_records of the service.")] = 5000,
    storage_customers: Annotated[int, typer.Option(help="storage: customers.")] = 1_000_000,
    scoring_events: Annotated[int, typer.Option(help="scoring: profile updates.")] = 200_000,
    scoring_customers: Annotated[int, typer.Option(help="scoring: customers.")] = 100_000,
    sweeper_customers: Annotated[int, typer.Option(help="sweeper: stored customers, all due.")] = 1_000_000,
    notification_decisions: Annotated[int, typer.Option(help="notification: routing decisions.")] = 20_000,
    recurring_customers: Annotated[int, typer.Option(help="recurring: customers planned over a year.")] = 100_000,
    api_customers: Annotated[int, typer.Option(help="api: stored routing decisions.")] = 1_000_000,
    api_seconds: Annotated[int, typer.Option(help="api: seconds per wrk run.")] = 20,
    api_connections: Annotated[int, typer.Option(help="api: wrk connections.")] = 50,
    api_workers: Annotated[int, typer.Option(help="api: uvicorn workers.")] = 2,
    minutes: Annotated[float, typer.Option(help="soak: minutes to run (not part of `all`).")] = 30,
    rate: Annotated[float, typer.Option(help="soak: live events per second.")] = 1000,
    soak_customers: Annotated[int, typer.Option(help="soak: customers.")] = 20_000,
) -> None:
    """Measure throughput, storage and memory; every figure beside a baseline from the same run."""
    from tierflow_cli.bench import api, notification, pipeline, profile, recurring, scoring, soak

    async def go() -> None:
        if scenario in ("all", "pipeline"):
            await pipeline.run(events=pipeline_events, customers=pipeline_customers, partitions=partitions)
        if scenario in ("all", "profile"):
            await profile.run_throughput(
                events=profile_events, customers=profile_customers, partitions=partitions, batch=profile_batch
            )
        if scenario in ("all", "storage"):
            await profile.run_storage(customers=storage_customers, partitions=partitions)
        if scenario in ("all", "scoring"):
            await scoring.run_throughput(events=scoring_events, customers=scoring_customers, partitions=partitions)
        if scenario in ("all", "sweeper"):
            await scoring.run_sweeper(customers=sweeper_customers, partitions=partitions)
        if scenario in ("all", "notification"):
            await notification.run_throughput(decisions=notification_decisions, partitions=partitions)
        if scenario in ("all", "recurring"):
            recurring.run(customers=recurring_customers)
        if scenario in ("all", "api"):
            await api.run(
                customers=api_customers, seconds=api_seconds, connections=api_connections, workers=api_workers
            )
        if scenario == "soak":
            await soak.run(minutes=minutes, rate=rate, customers=soak_customers)

    known = ("all", "pipeline", "profile", "storage", "scoring", "sweeper", "notification", "recurring", "api", "soak")
    if scenario not in known:
        console.print(f"[red]unknown scenario {scenario}[/]")
        raise typer.Exit(2)
    # SIGTERM unwinds like Ctrl-C, so every scenario stops the services and servers it started (they run in
    # sessions of their own and would outlive a bench killed outright).
    signal.signal(signal.SIGTERM, _interrupt)
    asyncio.run(go())


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    app()
