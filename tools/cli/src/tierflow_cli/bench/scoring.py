"""Issue-4 scenarios: scoring throughput on profile updates, and the sweeper over 1,000,000 customers."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
from sqlalchemy import text

from tierflow_cli.bench.common import (
    Bench,
    Phase,
    console,
    migrate_schemas,
    print_table,
    produce_all,
    start_services,
    stop_all,
    wait_for_group,
)
from tierflow_cli.services import WORKERS
from tierflow_common.calendar import day_of
from tierflow_common.db.engine import create_engine, raw_connection
from tierflow_common.events.ids import derived_id_str
from tierflow_common.events.topics import PROFILE, SCORE, Topics
from tierflow_common.kafka.admin import ensure_topics, group_progress
from tierflow_scoring.adapters.scores import CODEC
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.score import ScoreState

SCORING = WORKERS[1]


class _Message:
    __slots__ = ("key", "topic", "value")

    def __init__(self, key: bytes, value: bytes) -> None:
        self.topic, self.key, self.value = PROFILE, key, value


def profile_updates(count: int, customers: int, now: datetime) -> list[_Message]:
    """Profile versions as the profile service publishes them: each customer drifts from a stable base."""
    rng = random.Random(4)
    bases: dict[int, tuple[float, datetime, int]] = {}
    versions: dict[int, int] = {}
    messages = []
    for i in range(count):
        n = rng.randrange(customers)
        if n not in bases:
            assets = rng.choice([20_000, 150_000, 800_000, 6_000_000, 12_000_000]) * rng.uniform(0.8, 1.2)
            bases[n] = (assets, now - timedelta(days=rng.randint(30, 900)), rng.randint(0, 60))
        base_assets, first_trade, x = bases[n]
        version = versions[n] = versions.get(n, 0) + 1
        customer_id = f"S{n:07d}"
        at = now - timedelta(seconds=count - i)
        last_trade = max(first_trade, now - timedelta(days=rng.choice([1, 3, 10, 40, 80])))
        assets = base_assets * rng.uniform(0.97, 1.03)
        body = {
            "event_id": derived_id_str("profile", customer_id, version),
            "event_type": "profile.updated",
            "schema_version": 1,
            "occurred_at": at.isoformat(),
            "source": "bench",
            "customer_id": customer_id,
            "payload": {
                "version": version,
                "computed_at": at.isoformat(),
                "first_seen_at": (first_trade - timedelta(days=5)).isoformat(),
                "last_event_at": at.isoformat(),
                "assets": {
                    "total_assets": f"{assets:.2f}",
                    "total_assets_90d_ago": f"{base_assets:.2f}",
                    "net_inflow_90d": f"{rng.uniform(-20_000, 20_000):.2f}",
                },
                "trading": {
                    "trades_total": x + 1,
                    "first_trade_at": first_trade.isoformat(),
                    "last_trade_at": last_trade.isoformat(),
                    "trades_30d": rng.randint(1, 10),
                    "trades_90d": rng.randint(3, 30),
                    "trades_365d": rng.randint(10, 120),
                },
                "contribution": {"commission_12m": f"{base_assets / 1000:.2f}", "commission_total": "0"},
                "engagement": {"last_login_at": (now - timedelta(days=rng.randint(0, 30))).isoformat()},
                "repeat_trading": {"x": x, "t_x": min(x * 5, (now - first_trade).days), "T": (now - first_trade).days},
                "master": {},
            },
        }
        messages.append(_Message(customer_id.encode(), orjson.dumps(body)))
    return messages


async def run_throughput(*, events: int, customers: int, partitions: int) -> None:
    async with Bench("scoring") as bench:
        console.rule(f"[bold]scoring[/]: {events:,} profile updates over {customers:,} customers")
        started = time.perf_counter()
        updates = profile_updates(events, customers, datetime.now(UTC))
        generated = Phase("generate profile updates", len(updates), time.perf_counter() - started)
        topics = Topics("bench-scoring.")
        await ensure_topics(bench.options, topics.all, partitions=partitions)
        produced = await produce_all(bench.bootstrap, updates, topics)
        ceiling = await _ceiling(bench, topics, len(updates))
        await migrate_schemas(bench.infra_env["DATABASE_URL"], "sc", ["scoring"])
        process = start_services(bench, [SCORING], topics.prefix, "sc")
        try:
            result = await wait_for_group(
                bench.options, "bench-sc-scoring", [topics.name(PROFILE)], expect=len(updates)
            )
        finally:
            stop_all(process)
        published = (await group_progress(bench.options, "nobody", [topics.name(SCORE)]))[1]
    print_table(
        "scoring throughput (profile updates per second)",
        [
            generated,
            produced,
            ceiling,
            Phase("scoring: profile update -> committed score", result.handled, result.seconds),
        ],
        ceiling,
    )
    console.print(f"{published:,} score changes published for {len(updates):,} profile updates")


async def _ceiling(bench: Bench, topics: Topics, total: int) -> Phase:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topics.name(PROFILE),
        bootstrap_servers=bench.bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen, first = 0, None
    try:
        while seen < total:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            if batch and first is None:
                first = time.perf_counter()
            seen += sum(len(v) for v in batch.values())
    finally:
        await consumer.stop()
    return Phase("raw aiokafka consume (ceiling)", seen, time.perf_counter() - (first or time.perf_counter()))


async def seed_due_customers(database_url: str, schema: str, customers: int, now: datetime) -> float:
    """Store `customers` scored customers, all due for review now; return the seconds it took."""
    rng = random.Random(9)
    started = time.perf_counter()
    engine = create_engine(database_url, schema=schema, application_name="bench-seed")
    try:
        async with engine.connect() as conn:
            db = await raw_connection(conn)
            rows = []
            for n in range(customers):
                last_trade = now - timedelta(days=rng.choice([5, 30, 89, 91, 120]))
                first_trade = last_trade - timedelta(days=rng.randint(10, 600))
                inputs = ScoringInputs(
                    profile_version=1,
                    computed_at=now - timedelta(days=1),
                    first_seen_at=first_trade,
                    total_assets=Decimal(rng.choice([50_000, 700_000, 6_000_000, 11_000_000])),
                    first_trade_at=first_trade,
                    last_trade_at=last_trade,
                    last_login_at=now - timedelta(days=rng.randint(0, 90)),
                    repeat_x=rng.randint(0, 40),
                    repeat_t_x=(last_trade - first_trade).days,
                )
                state = ScoreState(
                    customer_id=f"S{n:07d}",
                    version=1,
                    tier="C",
                    tier_since=first_trade,
                    churn_band="low",
                    policy_version="default-2026.11",
                    model_version="cdnow-reference",
                    evaluated_at=now - timedelta(days=1),
                    decided_at=now - timedelta(days=1),
                    next_review_at=now,
                    inputs=inputs,
                )
                rows.append(
                    (
                        state.customer_id,
                        1,
                        "C",
                        "low",
                        now,
                        state.policy_version,
                        "cdnow-reference",
                        now,
                        CODEC.encode(state),
                    )
                )
                if len(rows) == 50_000 or n == customers - 1:
                    await db.copy_records_to_table(
                        "scores",
                        records=rows,
                        columns=[
                            "customer_id",
                            "version",
                            "tier",
                            "churn_band",
                            "next_review_at",
                            "policy_version",
                            "model_version",
                            "updated_at",
                            "state",
                        ],
                    )
                    rows = []
            await db.execute("ANALYZE scores")
    finally:
        await engine.dispose()
    assert day_of(now) > 0
    return time.perf_counter() - started


async def run_sweeper(*, customers: int, partitions: int) -> None:
    async with Bench("sweeper") as bench:
        console.rule(f"[bold]sweeper[/]: re-scoring {customers:,} stored customers, all due")
        topics = Topics("bench-sweep.")
        await ensure_topics(bench.options, topics.all, partitions=partitions)
        await migrate_schemas(bench.infra_env["DATABASE_URL"], "sw", ["scoring"])
        schema = "bench_sw_scoring"
        now = datetime.now(UTC)
        seeded = await seed_due_customers(bench.infra_env["DATABASE_URL"], schema, customers, now)
        process = start_services(
            bench,
            [SCORING],
            topics.prefix,
            "sw",
            {"TIERFLOW_SCORING_SWEEP_BATCH": "2000", "TIERFLOW_SCORING_SWEEP_INTERVAL_S": "0.5"},
        )
        engine = create_engine(bench.infra_env["DATABASE_URL"], schema=schema, application_name="bench")
        started = None
        try:
            while True:
                async with engine.connect() as conn:
                    due = (
                        await conn.execute(text("SELECT count(*) FROM scores WHERE next_review_at <= :n"), {"n": now})
                    ).scalar_one()
                if due < customers and started is None:
                    started, left_at_start = time.perf_counter(), due
                if due == 0:
                    break
                await _sleep(0.5)
            elapsed = time.perf_counter() - (started or time.perf_counter())
            async with engine.connect() as conn:
                tiers: dict[str, int] = dict(
                    (await conn.execute(text("SELECT tier, count(*) FROM scores GROUP BY tier"))).tuples().all()
                )
        finally:
            stop_all(process)
            await engine.dispose()
        published = (await group_progress(bench.options, "nobody", [topics.name(SCORE)]))[1]
    rate = left_at_start / elapsed if elapsed else 0.0
    console.print(
        f"seeded {customers:,} customers in {seeded:.1f}s; the sweeper re-scored them at {rate:,.0f} customers/s "
        f"({elapsed:.1f}s), publishing {published:,} changes; tiers after: {tiers}"
    )


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
