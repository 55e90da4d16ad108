"""Issue-3 scenarios: profile-service throughput (1M events / 100k customers), storage and memory."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import text

from tierflow_cli.bench.common import (
    Bench,
    Phase,
    console,
    migrate_schemas,
    print_table,
    produce_all,
    raw_consume,
    start_services,
    stop_all,
    wait_for_group,
)
from tierflow_cli.services import WORKERS
from tierflow_common.db.engine import create_engine
from tierflow_common.events.topics import Topics
from tierflow_common.kafka.admin import ensure_topics
from tierflow_simulator.events import SimEvent
from tierflow_simulator.history import history
from tierflow_simulator.population import make_population

SEED = 2027
MIB = 1024 * 1024


async def storage_figures(database_url: str, schema: str) -> dict[str, float]:
    """Bytes per stored profile (table + TOAST + indexes) and per inbox entry."""
    engine = create_engine(database_url, schema=schema, application_name="bench")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE profiles"))
            await conn.execute(text("ANALYZE processed_events"))
            row = (
                await conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM profiles), pg_total_relation_size('profiles'),"
                        " pg_relation_size('profiles'), (SELECT avg(octet_length(state)) FROM profiles),"
                        " (SELECT count(*) FROM processed_events), pg_total_relation_size('processed_events')"
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    customers, total, heap, state, inbox_rows, inbox_total = row
    return {
        "customers": customers,
        "bytes_per_customer": total / customers,
        "heap_bytes_per_customer": heap / customers,
        "state_bytes": float(state),
        "inbox_bytes_per_event": inbox_total / max(1, inbox_rows),
    }


async def run_throughput(*, events: int, customers: int, partitions: int, batch: int) -> None:
    async with Bench("profile") as bench:
        console.rule(f"[bold]profile[/]: {events:,} events over {customers:,} customers, {partitions} partitions")
        started = time.perf_counter()
        now = datetime.now(UTC)
        stream = history(make_population(customers, seed=SEED, now=now), total_events=events, now=now, seed=SEED)
        generated = Phase("simulate (generate events)", len(stream), time.perf_counter() - started)
        topics = Topics("bench-profile.")
        await ensure_topics(bench.options, topics.all, partitions=partitions)
        produced = await produce_all(bench.bootstrap, stream, topics)
        del stream  # the service runs in its own process; keep this one's memory out of the way
        ceiling = await raw_consume(bench.bootstrap, topics, produced.events, decode=False)
        decoded = await raw_consume(bench.bootstrap, topics, produced.events, decode=True)
        await migrate_schemas(bench.infra_env["DATABASE_URL"], "p", ["profile"])
        process = start_services(
            bench, WORKERS[:1], topics.prefix, "p", {"TIERFLOW_PROFILE_BATCH_MAX_RECORDS": str(batch)}
        )
        try:
            result = await wait_for_group(
                bench.options, "bench-p-profile", list(topics.inputs), expect=produced.events, watch_pid=process[0].pid
            )
        finally:
            stop_all(process)
        storage = await storage_figures(bench.infra_env["DATABASE_URL"], "bench_p_profile")
    print_table(
        "profile service throughput (input events per second)",
        [
            generated,
            produced,
            ceiling,
            decoded,
            Phase("profile: input -> committed profile state", result.handled, result.seconds),
        ],
        ceiling,
    )
    console.print(
        f"target 20,000 events/s: measured {result.handled / result.seconds:,.0f} "
        f"({result.handled / result.seconds / 20000:.2f} of target); batch_max_records={batch}"
    )
    console.print(
        f"storage after the run: {storage['customers']:,.0f} profiles, {storage['bytes_per_customer']:,.0f} bytes per "
        f"customer in PostgreSQL (heap {storage['heap_bytes_per_customer']:,.0f}, state document "
        f"{storage['state_bytes']:,.0f}); inbox {storage['inbox_bytes_per_event']:,.0f} bytes per event id; "
        f"peak RSS {result.peak_rss / MIB:,.0f} MiB"
    )


def _storage_stream(customers: int, now: datetime) -> list[SimEvent]:
    """Two events per customer (master data and a balance), built straight as contract JSON."""
    import uuid

    from tierflow_common.events import topics as t

    at = now.isoformat(timespec="milliseconds")
    events: list[SimEvent] = []
    for n in range(customers):
        customer_id = f"S{n:07d}"
        key = customer_id.encode()
        master: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=n * 2 + 1, version=4)),
            "event_type": "customer.updated",
            "occurred_at": at,
            "source": "bench",
            "customer_id": customer_id,
            "payload": {
                "investor_type": "individual",
                "birth_year": 1970 + n % 40,
                "risk_level": "C3",
                "consents": {"marketing_push": True},
                "region": "shenzhen",
            },
        }
        balance: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=n * 2 + 2, version=4)),
            "event_type": "balance.snapshot",
            "occurred_at": at,
            "source": "bench",
            "customer_id": customer_id,
            "payload": {
                "as_of": at,
                "total_assets": f"{n % 997 * 1000}.00",
                "cash": "0.00",
                "securities": f"{n % 997 * 1000}.00",
                "wealth_products": "0.00",
                "liabilities": "0.00",
                "net_inflow": "0.00",
            },
        }
        events.append(SimEvent(now, t.CUSTOMER, key, orjson.dumps(master), master["event_id"]))
        events.append(SimEvent(now, t.BALANCE, key, orjson.dumps(balance), balance["event_id"]))
    return events


async def run_storage(*, customers: int, partitions: int) -> None:
    async with Bench("storage") as bench:
        console.rule(f"[bold]storage[/]: {customers:,} customers (two events each), {partitions} partitions")
        topics = Topics("bench-storage.")
        await ensure_topics(bench.options, topics.all, partitions=partitions)
        produced = await produce_all(bench.bootstrap, _storage_stream(customers, datetime.now(UTC)), topics)
        await migrate_schemas(bench.infra_env["DATABASE_URL"], "s", ["profile"])
        process = start_services(bench, WORKERS[:1], topics.prefix, "s", {"TIERFLOW_PROFILE_BATCH_MAX_RECORDS": "5000"})
        try:
            result = await wait_for_group(
                bench.options, "bench-s-profile", list(topics.inputs), expect=produced.events, watch_pid=process[0].pid
            )
        finally:
            stop_all(process)
        storage = await storage_figures(bench.infra_env["DATABASE_URL"], "bench_s_profile")
    rss = ", ".join(f"{pct}%: {value / MIB:,.0f} MiB" for pct, value in sorted(result.rss_at.items()))
    console.print(
        f"{storage['customers']:,.0f} customers: {storage['bytes_per_customer']:,.0f} bytes per customer in PostgreSQL "
        f"(target under 2,048; heap {storage['heap_bytes_per_customer']:,.0f}, state {storage['state_bytes']:,.0f}); "
        f"inbox {storage['inbox_bytes_per_event']:,.0f} bytes per event id"
    )
    console.print(f"profile service RSS by customers processed: {rss}; peak {result.peak_rss / MIB:,.0f} MiB")
    console.print(f"throughput on this run: {result.handled / result.seconds:,.0f} events/s")
