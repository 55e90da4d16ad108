"""The whole system under faults, compared with an oracle: nothing lost, nothing counted twice.

On its own embedded stack (so the faults touch nothing else), 100,000 simulated events with 2%
producer duplicates flow through the four services and the routing API, run as processes in
event time (the replay and backfill mode, in which decisions depend only on the log). Meanwhile:
kill -9 of each service at seeded random moments (3 times each, restarted a second later, as an
orchestrator would); every PostgreSQL backend terminated, then PostgreSQL restarted; PostgreSQL
read-only for 30 s; Redis killed for 30 s; the broker stopped with SIGSTOP for 20 s.

Once every consumer group has caught up, the test checks:
- every profile equals a from-scratch computation from the distinct events;
- every score (tier, churn band, P(alive), churn score, pending demotion, closed) and every route
  (flow, priority, tier, band, rule, policy) equals an oracle: a fresh scoring and routing service,
  never faulted, replaying the profile log the faulted run published. How many changes a score went
  through on the way (its version) and since when it holds its tier are reported beside it: they
  depend on when the sweepers ran while the upstream lagged behind the faults;
- no `processing` dead letter; per-customer versions on every output topic never decrease;
- no process exited except those killed; the API answered every read (from PostgreSQL while
  Redis was gone).
It prints the figures (`make test-faults`; docs/operations.md quotes them).
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_cli.services import API, MIGRATIONS, WORKERS, ServiceSpec
from tierflow_common.db.engine import create_engine
from tierflow_common.db.migrations import upgrade_to_head_async
from tierflow_common.events import decode_event, topics
from tierflow_common.events.topics import Topics
from tierflow_common.infra.embedded import EmbeddedStack, free_port
from tierflow_common.kafka.admin import ensure_topics
from tierflow_common.kafka.producer import EventProducer
from tierflow_profile.adapters.profiles import PROFILES
from tierflow_profile.adapters.tables import profiles as profile_table
from tierflow_profile.domain.profile import Profile
from tierflow_profile.domain.snapshot import settle, view
from tierflow_profile.handlers import HANDLERS
from tierflow_routing.adapters.tables import routes
from tierflow_routing.api.security import mint_token
from tierflow_scoring.adapters.scores import STORE as SCORES
from tierflow_scoring.adapters.tables import scores as score_table
from tierflow_simulator.history import history
from tierflow_simulator.population import make_population
from tierflow_testing.faults import FaultLog, Faults
from tierflow_testing.kafka import group_lag, read_topic, wait_until
from tierflow_testing.processes import log_tails, start_service, terminate

pytestmark = pytest.mark.faults

EVENTS = 100_000
CUSTOMERS = 8_000
DUPLICATES = 0.02
PRODUCE_SECONDS = 80.0
SEED = 11
SECRET = "faults-secret-0123456789-0123456789-abcdef"
SERVICE_TOPICS = {
    "profile": topics.INPUT_TOPICS,
    "scoring": (topics.PROFILE,),
    "routing": (topics.PROFILE, topics.SCORE),
    "notification": (topics.ROUTING, topics.CUSTOMER, topics.TRADE, topics.LOGIN, topics.CONTACT),
}
OUTPUT_TOPICS = (topics.PROFILE, topics.SCORE, topics.ROUTING)


@dataclass
class Run:
    """One namespace of the run: a topic prefix, schemas and groups per service."""

    name: str
    stack: EmbeddedStack

    @property
    def topics(self) -> Topics:
        return Topics(f"{self.name}.")

    def env(self, spec: ServiceSpec, service: str) -> dict[str, str]:
        prefix = spec.env_prefix
        return {
            "KAFKA_BOOTSTRAP_SERVERS": str(self.stack.kafka_bootstrap),
            "DATABASE_URL": str(self.stack.database_url),
            "REDIS_URL": str(self.stack.redis_url),
            "TIERFLOW_TOPIC_PREFIX": self.topics.prefix,
            "TIERFLOW_ENV": "test",
            f"{prefix}CONSUMER_GROUP": f"{self.name}-{service}",
            f"{prefix}DB_SCHEMA": f"{self.name}_{service}",
            f"{prefix}CLOCK": "event",
            f"{prefix}SESSION_TIMEOUT_MS": "6000",
            f"{prefix}SWEEP_INTERVAL_S": "0.5",
            "TIERFLOW_ROUTING_JWT_SECRET": SECRET,
            "TIERFLOW_NOTIFICATION_JWT_SECRET": SECRET + "-tasks",
            "TIERFLOW_ROUTING_CACHE_NAMESPACE": f"{self.name}:",
        }

    def engine(self, service: str) -> AsyncEngine:
        return create_engine(str(self.stack.database_url), schema=f"{self.name}_{service}", application_name="oracle")

    async def migrate(self, *services: str) -> None:
        for service in services:
            directory, _ = MIGRATIONS[service]
            await upgrade_to_head_async(
                directory, database_url=str(self.stack.database_url), schema=f"{self.name}_{service}"
            )

    async def lag(self, service: str) -> int:
        names = [self.topics.name(t) for t in SERVICE_TOPICS[service]]
        return await group_lag(str(self.stack.kafka_bootstrap), f"{self.name}-{service}", names)


@dataclass
class Supervised:
    """A service process restarted after kill -9, as an orchestrator would; other exits are failures."""

    spec: ServiceSpec
    service: str
    env: dict[str, str]
    log: Path
    process: Any = None
    killed: int = 0
    unexpected_exits: list[int] = field(default_factory=list)
    restarting: bool = False
    every: list[Any] = field(default_factory=list)  # every process started, to leave none behind

    def start(self) -> None:
        self.process = start_service(self.spec.module, *self.spec.args, env=self.env, log=self.log)
        self.every.append(self.process)

    async def kill_and_restart(self, delay_s: float = 1.0) -> None:
        self.restarting = True
        try:
            self.process.send_signal(9)
            await asyncio.to_thread(self.process.wait, 10)
            self.killed += 1
            await asyncio.sleep(delay_s)
            self.start()
        finally:
            self.restarting = False

    def check(self) -> None:
        """Record an exit nobody caused, and start the process again."""
        if not self.restarting and self.process.poll() is not None:
            self.unexpected_exits.append(self.process.returncode)
            self.start()

    def stop(self) -> int:
        """Drain the current process (its exit code); kill anything else left running."""
        code = terminate(self.process, timeout_s=60)
        for process in self.every:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        return int(code)


@pytest.fixture
def stack() -> Any:
    # Not under pytest's tmp_path: the restarted PostgreSQL runs as its own user and must reach its
    # data directory, and pytest makes its own directory private (0700) whenever a session starts.
    workdir = Path(tempfile.mkdtemp(prefix="tierflow-faults-"))
    stack = EmbeddedStack(workdir)
    stack.start_kafka()
    stack.start_postgres()
    stack.start_redis()
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


async def produce_paced(run: Run, stream: list[Any], seconds: float) -> int:
    producer = EventProducer({"bootstrap_servers": run.stack.kafka_bootstrap}, client_id="faults-producer")
    await producer.start()
    started = time.monotonic()
    try:
        step = 500
        for start in range(0, len(stream), step):
            chunk = stream[start : start + step]
            await producer.send_all([_Message(run.topics.name(e.topic), e.key, e.value) for e in chunk])
            due = started + seconds * (start + step) / len(stream)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
    finally:
        await producer.stop()
    return len(stream)


@dataclass(frozen=True)
class _Message:
    topic: str
    key: bytes | None
    value: bytes | None


async def poll_api(base: str, customers: list[str], stop: asyncio.Event, tally: Counter[str]) -> None:
    """Read routes the whole time; anything but 200 or 404 (not routed yet) is a failure."""
    headers = {"Authorization": f"Bearer {mint_token(secret=SECRET, subject='faults', scopes=['route:read'])}"}
    rng = random.Random(SEED)
    async with httpx.AsyncClient(base_url=base, timeout=5.0) as client:
        while not stop.is_set():
            customer_id = rng.choice(customers)
            try:
                response = await client.get(f"/v1/customers/{customer_id}/route", headers=headers)
                tally[str(response.status_code)] += 1
                if response.status_code == 200:
                    tally[f"source:{response.headers.get('X-Route-Source')}"] += 1
            except httpx.HTTPError as exc:
                tally[f"error:{type(exc).__name__}"] += 1
            await asyncio.sleep(0.05)


async def at(moment: float, started: float) -> None:
    await asyncio.sleep(max(0.0, started + moment - time.monotonic()))


async def inject(faults: Faults, workers: dict[str, Supervised], log: FaultLog, started: float) -> None:
    """The fault schedule: server faults at fixed moments, 3 kills per service at seeded random ones."""
    rng = random.Random(SEED)
    kills = sorted((rng.uniform(3, 95), name) for name in workers for _ in range(3))

    async def kills_task() -> None:
        for moment, name in kills:
            await at(moment, started)
            log.add(time.monotonic() - started, f"kill -9 {name}")
            await workers[name].kill_and_restart()

    async def servers_task() -> None:
        await at(10, started)
        log.add(time.monotonic() - started, f"terminated {await faults.terminate_backends()} PostgreSQL backends")
        await at(15, started)
        await faults.restart_postgres()
        log.add(time.monotonic() - started, "PostgreSQL restarted")
        await at(25, started)
        await faults.read_only(True)
        log.add(time.monotonic() - started, "PostgreSQL read-only")
        await at(35, started)
        faults.kill_redis()  # while PostgreSQL is still read-only: the API has only PostgreSQL to read from
        log.add(time.monotonic() - started, "Redis killed")
        await at(55, started)
        await faults.read_only(False)
        log.add(time.monotonic() - started, "PostgreSQL writable")
        await at(65, started)
        await faults.start_redis()
        log.add(time.monotonic() - started, "Redis started (empty)")
        await at(70, started)
        faults.pause_broker()
        log.add(time.monotonic() - started, "broker SIGSTOP")
        await at(90, started)
        faults.resume_broker()
        log.add(time.monotonic() - started, "broker SIGCONT")

    await asyncio.gather(kills_task(), servers_task())


async def watch(processes: list[Supervised], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for process in processes:
            process.check()
        await asyncio.sleep(0.5)


def expected_profiles(stream: list[Any], now: datetime) -> dict[str, Profile]:
    """From scratch: every distinct event applied once, in one go."""
    unique = {e.event_id: e for e in stream}
    profiles: dict[str, Profile] = {}
    for raw in unique.values():
        event = decode_event(raw.value, key=raw.key, base_topic=raw.topic)
        profile = profiles.get(event.customer_id)
        if profile is None:
            profile = profiles[event.customer_id] = Profile(customer_id=event.customer_id)
            settle(profile, now)
        HANDLERS[type(event)](profile, event)
    return profiles


async def stored_profiles(run: Run) -> dict[str, Profile]:
    engine = run.engine("profile")
    try:
        async with engine.connect() as conn:
            ids = [row[0] for row in await conn.execute(select(profile_table.c.customer_id))]
            return {cid: p for cid in ids if (p := await PROFILES.get(conn, cid)) is not None}
    finally:
        await engine.dispose()


async def stored_scores(run: Run) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """Per customer: the score as decided now (tier, churn band, P(alive), churn score, pending demotion,
    closed), and its history so far (version, tier_since)."""
    engine = run.engine("scoring")
    try:
        async with engine.connect() as conn:
            ids = [row[0] for row in await conn.execute(select(score_table.c.customer_id))]
            found = {cid: await SCORES.get(conn, cid) for cid in ids}
        decided = {
            cid: (s.tier, s.churn_band, s.p_alive, s.churn_score, s.pending, s.closed)
            for cid, s in found.items()
            if s is not None
        }
        history = {cid: (s.version, s.tier_since) for cid, s in found.items() if s is not None}
        return decided, history
    finally:
        await engine.dispose()


async def stored_routes(run: Run) -> dict[str, tuple[Any, ...]]:
    engine = run.engine("routing")
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(
                    routes.c.customer_id,
                    routes.c.flow,
                    routes.c.priority,
                    routes.c.active,
                    routes.c.rule,
                    routes.c.tier,
                    routes.c.churn_band,
                    routes.c.policy_version,
                )
            )
            return {row[0]: tuple(row[1:]) for row in rows}
    finally:
        await engine.dispose()


async def versions_going_back(run: Run) -> dict[str, Any]:
    """Per output topic: records, redeliveries, and customers whose version went down (with their records).

    A redelivery is a message already on the topic, sent again byte for byte (at-least-once output:
    the process died after the broker took it and before it noted so); consumers recognise it by its
    event id and content. Going back is a message never seen before that carries a version lower
    than one already published for the customer: that would be a reordering.
    """
    found: dict[str, Any] = {}
    for topic in OUTPUT_TOPICS:
        records = await read_topic(str(run.stack.kafka_bootstrap), run.topics.name(topic), timeout_s=60)
        last: dict[str, int] = {}
        sent: dict[bytes, int] = {}
        trails: dict[str, list[tuple[int, int, int]]] = {}
        back: dict[str, list[tuple[int, int, int]]] = {}
        redelivered = 0
        for record in records:
            event = decode_event(record.value, key=record.key, base_topic=topic)
            version = event.payload.version  # type: ignore[union-attr]
            trail = trails.setdefault(event.customer_id, [])
            trail.append((record.partition, record.offset, version))
            if record.value in sent:
                redelivered += 1
                continue
            sent[record.value] = version
            if version < last.get(event.customer_id, 0):
                back[event.customer_id] = trail
            last[event.customer_id] = max(version, last.get(event.customer_id, 0))
        found[topic] = {
            "records": len(records),
            "redelivered": redelivered,
            "going_back": len(back),
            "examples": list(back.items())[:2],
        }
    return found


async def dead_letters(run: Run) -> Counter[str]:
    records = await read_topic(str(run.stack.kafka_bootstrap), run.topics.name(topics.DEAD_LETTER), timeout_s=10)
    return Counter(dict(r.headers).get("tierflow.error.kind", b"?").decode() for r in records)


async def caught_up(run: Run, services: tuple[str, ...]) -> Callable[[], Awaitable[bool]]:
    """A predicate: every service's group has committed everything on its input topics (progress printed)."""
    last_print = 0.0

    async def predicate() -> bool:
        nonlocal last_print
        try:
            lags = {s: await run.lag(s) for s in services}
        except Exception as exc:
            lags = {"error": type(exc).__name__}  # type: ignore[dict-item]
        if time.monotonic() - last_print > 10:
            print(f"  {run.name} lag: {lags}", flush=True)
            last_print = time.monotonic()
        return all(v == 0 for v in lags.values())

    return predicate


async def start_system(
    run: Run, directory: Path, *, services: tuple[str, ...], api_port: int | None
) -> list[Supervised]:
    specs = [w for w in WORKERS if w.name in services]
    started = []
    for spec in specs:
        started.append(Supervised(spec, spec.name, run.env(spec, spec.name), directory / f"{run.name}-{spec.name}.log"))
    if api_port is not None:
        env = {**run.env(API, "routing"), "TIERFLOW_ROUTING_API_PORT": str(api_port)}
        started.append(Supervised(API, "routing-api", env, directory / f"{run.name}-api.log"))
    for process in started:
        process.start()
    return started


async def test_faults_lose_nothing_and_count_nothing_twice(stack: EmbeddedStack, tmp_path: Path) -> None:
    live, oracle = Run("live", stack), Run("oracle", stack)
    bootstrap = str(stack.kafka_bootstrap)
    await ensure_topics({"bootstrap_servers": bootstrap}, [*live.topics.all, *oracle.topics.all])
    await live.migrate("profile", "scoring", "routing", "notification")
    await oracle.migrate("scoring", "routing")
    now = datetime.now(UTC)
    stream = history(
        make_population(CUSTOMERS, seed=SEED, now=now),
        total_events=EVENTS,
        now=now,
        seed=SEED,
        duplicate_rate=DUPLICATES,
    )
    api_port = free_port()
    processes = await start_system(live, tmp_path, services=tuple(SERVICE_TOPICS), api_port=api_port)
    workers = {p.service: p for p in processes if p.service in SERVICE_TOPICS}
    faults, log, tally = Faults(stack), FaultLog(), Counter[str]()
    stop = asyncio.Event()
    report: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as client:
            await wait_until(lambda: _ready(client), timeout_s=90, what="the API to be ready")
        started = time.monotonic()
        watcher = asyncio.create_task(watch(processes, stop))
        poller = asyncio.create_task(
            poll_api(f"http://127.0.0.1:{api_port}", sorted({e.key.decode() for e in stream[:2000]}), stop, tally)
        )
        produced, _ = await asyncio.gather(
            produce_paced(live, stream, PRODUCE_SECONDS), inject(faults, workers, log, started)
        )
        await wait_until(await caught_up(live, tuple(SERVICE_TOPICS)), timeout_s=600, interval_s=2, what="lag zero")
        await asyncio.sleep(3)  # the sweepers' last round
        await wait_until(await caught_up(live, tuple(SERVICE_TOPICS)), timeout_s=120, interval_s=2, what="lag zero")
        report["seconds_to_catch_up"] = round(time.monotonic() - started, 1)
        stop.set()
        await asyncio.gather(watcher, poller)
    finally:
        stop.set()
        codes = {p.service: p.stop() for p in processes}
    report.update(
        events=produced,
        distinct_events=len({e.event_id for e in stream}),
        customers=CUSTOMERS,
        faults=log.entries,
        kills={name: w.killed for name, w in workers.items()},
        unexpected_exits={p.service: p.unexpected_exits for p in processes if p.unexpected_exits},
        drain_exit_codes=codes,
        api_reads=dict(tally),
    )

    # Profiles: exactly what the distinct events imply.
    check_now = datetime.now(UTC)
    want = expected_profiles(stream, check_now)
    got = await stored_profiles(live)
    lost = sorted(set(want) - set(got))
    differing = []
    for customer_id, expected in want.items():
        stored = got.get(customer_id)
        if stored is None:
            continue
        settle(stored, check_now)
        a, b = view(stored, check_now), view(expected, check_now)
        for part in ("version", "next_review_at", "computed_at"):
            a.pop(part, None), b.pop(part, None)
        if a != b:
            differing.append(customer_id)
    report["profiles"] = {"expected": len(want), "stored": len(got), "lost": len(lost), "differing": len(differing)}

    # Outputs: versions never go back; no event was given up on.
    report["outputs"] = await versions_going_back(live)
    report["dead_letters"] = dict(await dead_letters(live))

    # Scores and routes: a fresh scoring and routing, never faulted, replaying the published profile log.
    profile_log = await read_topic(bootstrap, live.topics.name(topics.PROFILE), timeout_s=60)
    producer = EventProducer({"bootstrap_servers": bootstrap}, client_id="faults-oracle")
    await producer.start()
    try:
        await producer.send_all([_Message(oracle.topics.name(topics.PROFILE), r.key, r.value) for r in profile_log])
    finally:
        await producer.stop()
    replay = await start_system(oracle, tmp_path, services=("scoring", "routing"), api_port=None)
    try:
        await wait_until(await caught_up(oracle, ("scoring", "routing")), timeout_s=300, interval_s=2, what="oracle")
        await asyncio.sleep(3)
        await wait_until(await caught_up(oracle, ("scoring", "routing")), timeout_s=120, interval_s=2, what="oracle")
    finally:
        oracle_codes = [p.stop() for p in replay]
    (live_scores, live_history), (oracle_scores, oracle_history) = (
        await stored_scores(live),
        await stored_scores(oracle),
    )
    live_routes, oracle_routes = await stored_routes(live), await stored_routes(oracle)
    report["scores"] = _compare(live_scores, oracle_scores)
    # Reported, not asserted: how many tier or band changes a customer went through on the way, and
    # since when they hold their tier, depend on when the sweepers ran while the upstream lagged
    # (docs/operations.md, "The fault-injection run").
    report["score_histories"] = _compare(live_history, oracle_history)
    report["routes"] = _compare(live_routes, oracle_routes)
    print("\nfault-injection run:\n" + json.dumps(report, indent=2, default=str))
    _save(report)

    assert not report["unexpected_exits"], (report["unexpected_exits"], log_tails(tmp_path))
    assert all(code == 0 for code in codes.values()) and oracle_codes == [0, 0], (codes, log_tails(tmp_path))
    assert report["profiles"]["lost"] == 0 and not differing, (report["profiles"], differing[:5])
    assert all(o["going_back"] == 0 for o in report["outputs"].values()), report["outputs"]
    assert report["dead_letters"].get("processing", 0) == 0, report["dead_letters"]
    assert report["scores"]["missing"] == report["scores"]["differing"] == 0, report["scores"]
    assert report["routes"]["missing"] == report["routes"]["differing"] == 0, report["routes"]
    # 503 with Retry-After is the honest answer to a cache miss while PostgreSQL restarts; a 500 is a bug
    failures = {k: v for k, v in tally.items() if not (k in ("200", "404", "503") or k.startswith("source:"))}
    assert not failures and tally["200"] > 0, dict(tally)


def _compare(live: dict[str, tuple[Any, ...]], oracle: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
    differing = sorted(cid for cid in oracle if cid in live and live[cid] != oracle[cid])
    by_field: Counter[int] = Counter(
        i for cid in differing for i, (a, b) in enumerate(zip(live[cid], oracle[cid], strict=True)) if a != b
    )
    return {
        "oracle": len(oracle),
        "live": len(live),
        "missing": len(set(oracle) - set(live)),
        "extra": len(set(live) - set(oracle)),
        "differing": len(differing),
        "differing_fields": dict(by_field),
        "examples": [(cid, live[cid], oracle[cid]) for cid in differing[:3]],
    }


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


def _save(report: dict[str, Any]) -> None:
    """The figures of the last run, for the docs (`.tierflow/` is not tracked)."""
    target = Path(__file__).resolve().parents[2] / ".tierflow" / "faults" / "last_run.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2, default=str) + "\n")
