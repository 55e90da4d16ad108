"""Soak: the whole system at a steady rate for a long time; what it holds must stay bounded.

Every process runs (four workers and the API) on the embedded stack while the simulator feeds a
steady live stream and a client reads routes with ever new customer tokens. Every sample records
each process's resident memory, the API's token cache and rate-limiter windows (from its /metrics),
and the inbox and outbox rows per service. The table shows the first, middle and last samples and
the growth over the second half: memory, caches and outboxes should be flat, inboxes grow with the
events until their retention removes ids (docs/bench.md).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import psutil
from sqlalchemy import text

from tierflow_cli.bench.common import Bench, console, migrate_schemas, start_services, stop_all
from tierflow_cli.services import API, WORKERS
from tierflow_common.auth import mint_token
from tierflow_common.db.engine import create_engine
from tierflow_common.events import topics as base
from tierflow_common.events.topics import Topics
from tierflow_common.infra.embedded import free_port
from tierflow_common.kafka.admin import ensure_topics, group_progress
from tierflow_common.kafka.producer import EventProducer
from tierflow_simulator.simulate import SimulationOptions, run_simulation

SERVICES = ("profile", "scoring", "routing", "notification")
# What each worker subscribes to (its bootstrap), for its lag in messages.
SUBSCRIBED = {
    "profile": base.INPUT_TOPICS,
    "scoring": (base.PROFILE,),
    "routing": (base.PROFILE, base.SCORE),
    "notification": (base.ROUTING, base.CUSTOMER, base.TRADE, base.LOGIN, base.CONTACT),
}
SECRET = "soak-bench-secret-0123456789-0123456789-abc"
SAMPLE_S = 30.0


@dataclass
class Sample:
    at_s: float
    rss_mib: dict[str, float]
    inbox: dict[str, int]
    outbox: dict[str, int]
    lag: dict[str, int]
    produced: int
    token_cache: float
    limiter_windows: float
    api_reads: int


@dataclass
class Reads:
    ok: int = 0
    other: dict[str, int] = field(default_factory=dict)


async def run(*, minutes: float, rate: float, customers: int) -> None:
    async with Bench("soak") as bench:
        console.rule(f"[bold]soak[/]: {minutes:g} min at {rate:g} events/s over {customers:,} customers")
        names = Topics("bench-soak.")
        await ensure_topics(bench.options, names.all, partitions=6)
        await migrate_schemas(bench.infra_env["DATABASE_URL"], "soak", SERVICES)
        api_port = free_port()
        env = {
            "TIERFLOW_ROUTING_JWT_SECRET": SECRET,
            "TIERFLOW_ROUTING_API_PORT": str(api_port),
            "TIERFLOW_ROUTING_RATE_LIMIT_CUSTOMER_RPS": "1000",
            "TIERFLOW_ROUTING_RATE_LIMIT_STAFF_RPS": "100000",
        }
        processes = start_services(bench, WORKERS, names.prefix, "soak", env)
        api_env = {**env, "TIERFLOW_ROUTING_DB_SCHEMA": "bench_soak_routing"}
        api = start_services(bench, [API], names.prefix, "soak", api_env)
        named = dict(zip((*SERVICES, "routing-api"), [*processes, *api], strict=True))
        stop = asyncio.Event()
        reads = Reads()
        samples: list[Sample] = []
        producer = EventProducer(bench.options, client_id="soak")
        await producer.start()
        options = SimulationOptions(customers=customers, events=customers * 5, rate=rate, follow=True)
        simulation = asyncio.create_task(
            run_simulation(producer, options, topics=names, show_progress=False, stop=stop)
        )
        url = f"http://127.0.0.1:{api_port}"
        reader = asyncio.create_task(_read_routes(url, customers, stop, reads))
        started = time.monotonic()
        try:
            await _wait_ready(url)
            while time.monotonic() - started < minutes * 60:
                await asyncio.sleep(SAMPLE_S)
                sample = await _sample(bench, named, url, names, time.monotonic() - started, reads)
                samples.append(sample)
                console.print(
                    f"  {sample.at_s:6.0f}s  RSS MiB "
                    + " ".join(f"{k}={v:.0f}" for k, v in sample.rss_mib.items())
                    + f"  tokens={sample.token_cache:.0f} windows={sample.limiter_windows:.0f}"
                    + f"  inbox={sum(sample.inbox.values()):,} outbox={sum(sample.outbox.values()):,}"
                    + "  lag "
                    + " ".join(f"{k}={v:,}" for k, v in sample.lag.items())
                )
        finally:
            stop.set()
            try:
                await asyncio.gather(simulation, reader, return_exceptions=True)
                await producer.stop()
            finally:  # interrupted (Ctrl-C, SIGTERM), the waits above are cancelled: the processes still stop
                stop_all([*processes, *api])
    _report(samples, reads, minutes, rate)


async def _wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError("the API did not become ready")


async def _read_routes(base: str, customers: int, stop: asyncio.Event, reads: Reads) -> None:
    """About 100 reads a second; every read of a customer's own route uses a newly minted token."""
    rng = random.Random(7)
    staff = {"Authorization": f"Bearer {mint_token(secret=SECRET, subject='soak', scopes=['route:read'])}"}
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as client:
        while not stop.is_set():
            customer_id = f"C{rng.randrange(customers):07d}"
            if rng.random() < 0.5:
                token = mint_token(secret=SECRET, subject=f"app-{rng.random()}", scopes=["route:read:self"],
                                   customer_id=customer_id)  # fmt: skip
                headers = {"Authorization": f"Bearer {token}"}
            else:
                headers = staff
            try:
                status = (await client.get(f"/v1/customers/{customer_id}/route", headers=headers)).status_code
                if status in (200, 404):
                    reads.ok += 1
                else:
                    reads.other[str(status)] = reads.other.get(str(status), 0) + 1
            except httpx.HTTPError as exc:
                reads.other[type(exc).__name__] = reads.other.get(type(exc).__name__, 0) + 1
            await asyncio.sleep(0.01)


async def _sample(
    bench: Bench,
    processes: Mapping[str, subprocess.Popen[bytes]],
    url: str,
    names: Topics,
    at_s: float,
    reads: Reads,
) -> Sample:
    rss = {}
    for name, process in processes.items():
        try:
            rss[name] = psutil.Process(process.pid).memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            rss[name] = float("nan")
    inbox, outbox = {}, {}
    engine = create_engine(bench.infra_env["DATABASE_URL"], schema="public", application_name="soak")
    try:
        async with engine.connect() as conn:
            for service in SERVICES:
                schema = f"bench_soak_{service}"
                inbox[service] = int(
                    (await conn.execute(text(f'SELECT count(*) FROM "{schema}".processed_events'))).scalar_one()
                )
                outbox[service] = int(
                    (await conn.execute(text(f'SELECT count(*) FROM "{schema}".outbox'))).scalar_one()
                )
    finally:
        await engine.dispose()
    lag, ends = {}, {}
    for service, subscribed in SUBSCRIBED.items():
        committed, end = await group_progress(bench.options, f"bench-soak-{service}", map(names.name, subscribed))
        lag[service], ends[service] = end - committed, end
    gauges = {"tierflow_api_token_cache_entries": float("nan"), "tierflow_api_rate_limit_windows": float("nan")}
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        for line in (await client.get("/metrics")).text.splitlines():
            name, _, value = line.partition(" ")
            if name in gauges:
                gauges[name] = float(value)
    return Sample(
        at_s=at_s,
        rss_mib=rss,
        inbox=inbox,
        outbox=outbox,
        lag=lag,
        produced=ends["profile"],  # every input event (the profile service reads them all)
        token_cache=gauges["tierflow_api_token_cache_entries"],
        limiter_windows=gauges["tierflow_api_rate_limit_windows"],
        api_reads=reads.ok,
    )


def _report(samples: list[Sample], reads: Reads, minutes: float, rate: float) -> None:
    from rich.table import Table

    if len(samples) < 3:
        console.print("[red]too few samples for a soak report[/]")
        return
    first, middle, last = samples[0], samples[len(samples) // 2], samples[-1]
    table = Table(title=f"soak: {minutes:g} min at {rate:g} events/s ({datetime.now(UTC):%Y-%m-%d})")
    table.add_column("figure")
    for column in ("first sample", "middle", "last", "growth over the second half"):
        table.add_column(column, justify="right")

    def row(label: str, pick: object, fmt: str = "{:,.0f}") -> None:
        a, m, z = (pick(s) for s in (first, middle, last))  # type: ignore[operator]
        table.add_row(label, fmt.format(a), fmt.format(m), fmt.format(z), f"{(z - m):+,.1f}")

    for name in first.rss_mib:
        row(f"RSS MiB {name}", lambda s, n=name: s.rss_mib[n], "{:,.1f}")
    row("API token cache entries", lambda s: s.token_cache)
    row("API rate-limiter windows", lambda s: s.limiter_windows)
    for service in first.inbox:
        row(f"inbox rows {service}", lambda s, n=service: s.inbox[n])
    for service in first.outbox:
        row(f"outbox rows {service}", lambda s, n=service: s.outbox[n])
    for service in first.lag:
        row(f"consumer lag (messages) {service}", lambda s, n=service: s.lag[n])
    row("input events on the topics", lambda s: s.produced)
    console.print(table)
    rate_in = (last.produced - middle.produced) / (last.at_s - middle.at_s)
    console.print(f"input over the second half: {rate_in:,.0f} events/s (asked for {rate:g})")
    console.print(f"API reads answered 200/404: {reads.ok:,}; anything else: {reads.other or 'none'}")
    console.print(f"process: pid {os.getpid()} sampled every {SAMPLE_S:.0f} s, {len(samples)} samples")
