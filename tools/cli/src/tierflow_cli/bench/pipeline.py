"""Issue-2 scenario: the whole pipeline, input events to routing decisions, beside the ceiling."""

from __future__ import annotations

import time
from datetime import UTC, datetime

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
from tierflow_common.events.topics import PROFILE, ROUTING, SCORE, Topics
from tierflow_common.kafka.admin import ensure_topics, group_progress
from tierflow_simulator.history import history
from tierflow_simulator.population import make_population

SEED = 2026


async def run(*, events: int, customers: int, partitions: int) -> None:
    async with Bench("pipeline") as bench:
        console.rule(f"[bold]pipeline[/]: {events:,} events over {customers:,} customers, {partitions} partitions")
        started = time.perf_counter()
        now = datetime.now(UTC)
        stream = history(make_population(customers, seed=SEED, now=now), total_events=events, now=now, seed=SEED)
        generated = Phase("simulate (generate events)", len(stream), time.perf_counter() - started)
        # The ceiling and the profile service alone, on one copy of the events.
        solo = Topics("bench-solo.")
        await ensure_topics(bench.options, solo.all, partitions=partitions)
        produced = await produce_all(bench.bootstrap, stream, solo)
        ceiling = await raw_consume(bench.bootstrap, solo, len(stream), decode=False)
        decoded = await raw_consume(bench.bootstrap, solo, len(stream), decode=True)
        await migrate_schemas(bench.infra_env["DATABASE_URL"], "solo", ["profile"])
        profile = start_services(bench, WORKERS[:1], solo.prefix, "solo")
        try:
            alone = await wait_for_group(bench.options, "bench-solo-profile", list(solo.inputs), expect=len(stream))
        finally:
            stop_all(profile)
        # The whole pipeline on a second copy, until routing has committed every score.
        full = Topics("bench-full.")
        await ensure_topics(bench.options, full.all, partitions=partitions)
        await produce_all(bench.bootstrap, stream, full)
        await migrate_schemas(
            bench.infra_env["DATABASE_URL"], "full", ["profile", "scoring", "routing", "notification"]
        )
        processes = start_services(bench, WORKERS, full.prefix, "full")
        try:
            to_profile = await wait_for_group(
                bench.options, "bench-full-profile", list(full.inputs), expect=len(stream)
            )
            await wait_for_group(bench.options, "bench-full-scoring", [full.name(PROFILE)])
            to_routing = await wait_for_group(bench.options, "bench-full-routing", [full.name(SCORE)])
            profile_msgs = (await group_progress(bench.options, "bench-full-scoring", [full.name(PROFILE)]))[1]
            score_msgs = (await group_progress(bench.options, "bench-full-routing", [full.name(SCORE)]))[1]
            decisions = (await group_progress(bench.options, "bench-full-notification", [full.name(ROUTING)]))[1]
        finally:
            stop_all(processes)
    print_table(
        "pipeline throughput (input events per second)",
        [
            generated,
            produced,
            ceiling,
            decoded,
            Phase("profile alone: input -> committed profile state", alone.handled, alone.seconds),
            Phase("pipeline: input -> committed profile state", len(stream), to_profile.seconds),
            Phase(
                "pipeline: input -> routing decisions committed", len(stream), to_routing.done_at - to_profile.first_at
            ),
        ],
        ceiling,
    )
    console.print(
        f"fan-out: {len(stream):,} input events -> {profile_msgs:,} profile versions -> "
        f"{score_msgs:,} tier changes -> {decisions:,} routing decisions"
    )
