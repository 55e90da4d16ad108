"""Issue-5 scenario: `GET /v1/customers/{id}/route` under wrk, beside the bare FastAPI ceiling.

1,000,000 decisions are stored the way the routing worker stores them (PostgreSQL `routes` and the
Redis route cache), then wrk (Debian package) asks for random customers among them with a staff
token over 50 connections. Both servers run with the same uvicorn settings: 2 workers, uvloop,
httptools, no access log. The routing API does its whole job per request: JWT check, scope check,
the per-client rate limiter in Redis (its limit raised above the offered load, so it counts but
never refuses), the Redis read and the response model. A third run with an empty cache namespace
measures the PostgreSQL fallback (every first read of a customer misses Redis).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from redis.asyncio import Redis
from rich.table import Table

from tierflow_cli.bench.common import Bench, console, migrate_schemas, start_services, stop_all
from tierflow_cli.services import API
from tierflow_common.db.engine import create_engine, raw_connection
from tierflow_common.infra.embedded import free_port, stop_pid
from tierflow_routing.adapters.route_cache import cache_key
from tierflow_routing.api.security import mint_token

SECRET = "bench-secret-0123456789-0123456789-abcdef"
FLOWS = (
    ("A", "private_advisor"),
    ("B", "robo_advisor"),
    ("C", "community"),
    ("C", "robo_advisor"),
    ("D", "reactivation"),
)
# Targets from issue 5: at least half the framework ceiling, p99 under 50 ms.
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0

WRK_SCRIPT = """
local customers = %(customers)d
local token = "%(token)s"
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(id * 7919 + os.time())
end
function request()
  local path = string.format("/v1/customers/R%%07d/route", math.random(0, customers - 1))
  return wrk.format("GET", path, {["Authorization"] = token})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, "
      .. "\\"max_us\\": %%d, \\"non2xx\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class WrkRun:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def route_json(n: int, now: datetime) -> tuple[str, dict[str, object]]:
    """The n-th benchmark customer's route, as the worker would cache it."""
    tier, flow = FLOWS[n % len(FLOWS)]
    customer_id = f"R{n:07d}"
    return customer_id, {
        "customer_id": customer_id,
        "decision_id": str(uuid.UUID(int=n + 1)),
        "version": 1,
        "flow": flow,
        "advisor_id": f"ADV{n % 500:03d}" if flow == "private_advisor" else None,
        "priority": "normal",
        "active": True,
        "tier": tier,
        "churn_band": "low",
        "reasons": [{"code": f"rule_{tier.lower()}", "contribution": 1.0, "detail": f"rule for tier {tier}"}],
        "policy_version": "routing-default-2026.11",
        "decided_at": (now - timedelta(minutes=n % 10_000)).isoformat(),
    }


async def seed_routes(database_url: str, schema: str, redis_url: str, namespace: str, customers: int) -> float:
    """Store `customers` current routes in PostgreSQL and the Redis cache; return the seconds it took."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    engine = create_engine(database_url, schema=schema, application_name="bench-seed")
    redis = Redis.from_url(redis_url)
    columns = ["customer_id", "version", "decision_id", "flow", "advisor_id", "priority", "active", "rule"]
    columns += ["tier", "churn_band", "reasons", "policy_version", "decided_at", "updated_at"]
    try:
        async with engine.connect() as conn:
            db = await raw_connection(conn)
            for start in range(0, customers, 50_000):
                rows = []
                async with redis.pipeline(transaction=False) as pipe:
                    for n in range(start, min(start + 50_000, customers)):
                        customer_id, route = route_json(n, now)
                        pipe.set(cache_key(customer_id, namespace), orjson.dumps(route), ex=3600)
                        rows.append(
                            (
                                customer_id,
                                1,
                                uuid.UUID(str(route["decision_id"])),
                                route["flow"],
                                route["advisor_id"],
                                "normal",
                                True,
                                f"bench_{route['tier']}",
                                route["tier"],
                                "low",
                                orjson.dumps(route["reasons"]).decode(),
                                route["policy_version"],
                                datetime.fromisoformat(str(route["decided_at"])),
                                now,
                            )
                        )
                    await pipe.execute()
                await db.copy_records_to_table("routes", records=rows, columns=columns)
            await db.execute("ANALYZE routes")
    finally:
        await redis.aclose()
        await engine.dispose()
    return time.perf_counter() - started


def wrk(label: str, url: str, script: Path, *, connections: int, seconds: int, threads: int = 2) -> WrkRun:
    """Run wrk against `url` with the random-customer script; parse the JSON line its `done` writes."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in output.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    data = json.loads(line.removeprefix("WRKJSON "))
    return WrkRun(
        label=label,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non2xx=data["non2xx"],
        socket_errors=data["socket_errors"],
    )


async def wait_answering(url: str, headers: dict[str, str], timeout_s: float = 60) -> None:
    """Until `url` answers 200 (the servers' workers have started)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url, headers=headers)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout_s}s")


async def requests_counted(port: int) -> float:
    """tierflow_api_requests_total for the route read, as /metrics reports it (every worker added up)."""
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "tierflow_api_requests"
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels.get("route") == "/v1/customers/{customer_id}/route"
    )


def start_bare(port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "tierflow_cli.bench.bare_app:create_app", "--factory"]
    command += ["--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


async def measure(
    label: str, port: int, script: Path, headers: dict[str, str], *, connections: int, seconds: int
) -> WrkRun:
    url = f"http://127.0.0.1:{port}"
    await wait_answering(f"{url}/v1/customers/R0000000/route", headers)
    await asyncio.to_thread(wrk, "warm-up", url, script, connections=connections, seconds=3)
    return await asyncio.to_thread(wrk, label, url, script, connections=connections, seconds=seconds)


async def run(*, customers: int, seconds: int, connections: int, workers: int) -> None:
    if shutil.which("wrk") is None:
        console.print("[red]wrk is not installed[/]: it comes from the Debian package `wrk` (make bench installs it)")
        raise SystemExit(1)
    run_id = uuid.uuid4().hex[:8]
    token = mint_token(secret=SECRET, subject="bench-frontend", scopes=["route:read"])
    headers = {"Authorization": f"Bearer {token}"}
    async with Bench("api") as bench:
        database_url = bench.infra_env["DATABASE_URL"]
        await migrate_schemas(database_url, run_id, ["routing"])
        seed_s = await seed_routes(
            database_url, f"bench_{run_id}_routing", bench.infra_env["REDIS_URL"], f"bench-{run_id}:", customers
        )
        console.print(f"stored {customers:,} routes in PostgreSQL and Redis in {seed_s:.1f}s")
        script = bench.workdir / "random-customer.lua"
        script.write_text(WRK_SCRIPT % {"customers": customers, "token": headers["Authorization"]})

        port = free_port()
        bare = start_bare(port, workers, bench.logs / "bare.log")
        try:
            ceiling = await measure(
                "bare FastAPI constant (ceiling)", port, script, headers, connections=connections, seconds=seconds
            )
        finally:
            stop_pid(bare.pid, timeout_s=30)

        runs = [ceiling]
        for label, namespace in (
            ("routing API, Redis cache", f"bench-{run_id}:"),
            ("routing API, cold cache (PostgreSQL fallback)", f"bench-{run_id}-cold:"),
        ):
            port = free_port()
            env = {
                "TIERFLOW_ROUTING_DB_SCHEMA": f"bench_{run_id}_routing",
                "TIERFLOW_ROUTING_API_PORT": str(port),
                "TIERFLOW_ROUTING_API_WORKERS": str(workers),
                "TIERFLOW_ROUTING_JWT_SECRET": SECRET,
                "TIERFLOW_ROUTING_CACHE_NAMESPACE": namespace,
                "TIERFLOW_ROUTING_RATE_LIMIT_STAFF_RPS": "1000000",
            }
            processes = start_services(bench, [API], f"bench-{run_id}-", run_id, extra_env=env)
            try:
                runs.append(await measure(label, port, script, headers, connections=connections, seconds=seconds))
                counted = await requests_counted(port)
                console.print(f"{label}: /metrics counted {counted:,.0f} route requests over all {workers} workers")
            finally:
                stop_all(processes)
        report(runs, customers=customers, connections=connections, workers=workers)


def report(runs: list[WrkRun], *, customers: int, connections: int, workers: int) -> None:
    ceiling, cached = runs[0], runs[1]
    table = Table(
        title=(
            f"GET /v1/customers/{{id}}/route, random among {customers:,} stored decisions: wrk {connections} "
            f"connections, uvicorn {workers} workers, uvloop + httptools ({os.cpu_count()} CPUs, wrk on the same host)"
        )
    )
    for column in ("server", "requests", "seconds", "requests/s", "p50 ms", "p99 ms", "max ms", "non-2xx", "errors"):
        table.add_column(column, justify="left" if column == "server" else "right")
    table.add_column("vs ceiling", justify="right")
    for r in runs:
        table.add_row(
            r.label,
            f"{r.requests:,}",
            f"{r.seconds:.1f}",
            f"{r.rate:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.max_ms:.1f}",
            f"{r.non2xx:,}",
            f"{r.socket_errors:,}",
            f"{r.rate / ceiling.rate:.2f}",
        )
    console.print(table)
    ratio = cached.rate / ceiling.rate
    met = ratio >= TARGET_RATIO and cached.p99_ms < TARGET_P99_MS and cached.non2xx == 0
    console.print(
        f"target (issue 5): >= {TARGET_RATIO:.0%} of the ceiling and p99 < {TARGET_P99_MS:.0f} ms with no errors: "
        f"{ratio:.0%}, p99 {cached.p99_ms:.1f} ms, {cached.non2xx} non-2xx -> "
        + ("[green]met[/]" if met else "[red]not met[/]")
    )
