"""What every benchmark scenario shares: infrastructure, producing, the ceiling, service processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psutil
from aiokafka import AIOKafkaConsumer
from rich.console import Console, JustifyMethod
from rich.table import Table

from tierflow_cli.devenv import STATE_DIR
from tierflow_cli.services import MIGRATIONS, ServiceSpec
from tierflow_cli.stack import resolve_infra
from tierflow_common.events.codec import decode_event
from tierflow_common.events.topics import Topics
from tierflow_common.infra.embedded import EmbeddedStack, stop_pid
from tierflow_common.kafka.admin import group_progress
from tierflow_common.kafka.producer import EventProducer

console = Console(width=None if sys.stdout.isatty() else 160)


@dataclass
class Phase:
    """One measured stage: events handled and the seconds it took."""

    label: str
    events: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Bench:
    """A scenario's infrastructure and working directory."""

    name: str
    infra_env: dict[str, str] = field(default_factory=dict)
    workdir: Path = STATE_DIR / "bench"
    stack: EmbeddedStack | None = None

    @property
    def bootstrap(self) -> str:
        return self.infra_env["KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def options(self) -> dict[str, str]:
        return {"bootstrap_servers": self.bootstrap}

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    async def __aenter__(self) -> Bench:
        self.workdir = STATE_DIR / "bench" / self.name
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.stack = EmbeddedStack(self.workdir / "infra")
        self.infra_env = await asyncio.to_thread(resolve_infra, self.stack)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.stack is not None:
            await asyncio.to_thread(self.stack.stop)


class _Routed:
    __slots__ = ("key", "topic", "value")

    def __init__(self, topic: str, key: bytes, value: bytes) -> None:
        self.topic, self.key, self.value = topic, key, value


class Routable(Protocol):
    """A message for a base topic: simulator events and the benchmarks' own messages."""

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> bytes: ...

    @property
    def value(self) -> bytes: ...


async def produce_all(bootstrap: str, events: Sequence[Routable], topics: Topics) -> Phase:
    """Send simulator events (topic, key, value) to their prefixed topics; wait for every ack."""
    producer = EventProducer({"bootstrap_servers": bootstrap}, linger_ms=20, client_id="bench")
    await producer.start()
    started = time.perf_counter()
    try:
        for start in range(0, len(events), 5000):
            chunk = events[start : start + 5000]
            await producer.send_all([_Routed(topics.name(e.topic), e.key, e.value) for e in chunk])
    finally:
        await producer.stop()
    return Phase("produce to the input topics", len(events), time.perf_counter() - started)


async def raw_consume_topic(bootstrap: str, topic: str, total: int) -> Phase:
    """The ceiling of one topic: one aiokafka consumer in a fresh group reading `total` messages."""
    return await _raw(bootstrap, [topic], total, decode_base=None, label="raw aiokafka consume (ceiling)")


async def raw_consume(bootstrap: str, topics: Topics, total: int, *, decode: bool) -> Phase:
    """The ceiling: one aiokafka consumer in a fresh group reading every input event."""
    label = "aiokafka consume + contract validation" if decode else "raw aiokafka consume (ceiling)"
    return await _raw(bootstrap, list(topics.inputs), total, decode_base=topics if decode else None, label=label)


async def _raw(bootstrap: str, names: Sequence[str], total: int, *, decode_base: Topics | None, label: str) -> Phase:
    consumer = AIOKafkaConsumer(
        *names,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    seen = 0
    started: float | None = None
    try:
        while seen < total:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            if batch and started is None:
                started = time.perf_counter()  # the group join is not part of the consume rate
            for messages in batch.values():
                if decode_base is not None:
                    for m in messages:
                        decode_event(m.value, key=m.key, base_topic=decode_base.base(m.topic))
                seen += len(messages)
        elapsed = time.perf_counter() - (started or time.perf_counter())
    finally:
        await consumer.stop()
    return Phase(label, seen, elapsed)


async def migrate_schemas(database_url: str, run_id: str, services: Sequence[str]) -> None:
    from tierflow_common.db.migrations import upgrade_to_head_async

    for name in services:
        directory, _ = MIGRATIONS[name]
        await upgrade_to_head_async(directory, database_url=database_url, schema=f"bench_{run_id}_{name}")


def start_services(
    bench: Bench, specs: Sequence[ServiceSpec], prefix: str, run_id: str, extra_env: dict[str, str] | None = None
) -> list[subprocess.Popen[bytes]]:
    processes = []
    for spec in specs:
        env = {
            **os.environ,
            **bench.infra_env,
            "TIERFLOW_ENV": "development",
            "TIERFLOW_TOPIC_PREFIX": prefix,
            f"{spec.env_prefix}CONSUMER_GROUP": f"bench-{run_id}-{spec.name}",
            f"{spec.env_prefix}DB_SCHEMA": f"bench_{run_id}_{spec.name}",
            f"{spec.env_prefix}SESSION_TIMEOUT_MS": "6000",
            "TIERFLOW_ROUTING_CACHE_NAMESPACE": f"bench-{run_id}:",
            # The task API refuses to start without a key.
            "TIERFLOW_NOTIFICATION_JWT_SECRET": f"dev-bench-{run_id}-task-api-secret-0123456789",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        log = (bench.logs / f"{run_id}-{spec.name}.log").open("ab")
        processes.append(
            subprocess.Popen(spec.command(), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )
    return processes


def stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        stop_pid(process.pid, timeout_s=30)


@dataclass
class GroupRun:
    """Progress of a consumer group through a known number of messages."""

    first_at: float
    done_at: float
    handled: int
    peak_rss: int = 0
    rss_at: dict[int, int] = field(default_factory=dict)  # percent done -> RSS bytes

    @property
    def seconds(self) -> float:
        return self.done_at - self.first_at


async def wait_for_group(
    options: dict[str, str],
    group: str,
    topics: list[str],
    *,
    expect: int | None = None,
    watch_pid: int | None = None,
    timeout_s: float = 3600,
) -> GroupRun:
    """Poll a group's committed offsets until it has committed `expect` (or the end offsets).

    The clock starts at the first committed offset, so the group join is not counted. With
    `watch_pid`, the process's resident memory is sampled on every poll.
    """
    first: float | None = None
    first_count = 0
    run = GroupRun(0.0, 0.0, 0)
    process = psutil.Process(watch_pid) if watch_pid else None
    deadline = time.monotonic() + timeout_s
    marks = [25, 50, 75, 100]
    while time.monotonic() < deadline:
        committed, end = await group_progress(options, group, topics)
        now = time.perf_counter()
        target = expect if expect is not None else end
        if process is not None:
            rss = process.memory_info().rss
            run.peak_rss = max(run.peak_rss, rss)
            while marks and target and committed * 100 >= marks[0] * target:
                run.rss_at[marks.pop(0)] = rss
        if committed > 0 and first is None:
            first, first_count = now, committed
        if target and committed >= target:
            run.first_at, run.done_at, run.handled = first or now, now, committed - first_count
            return run
        await asyncio.sleep(0.25)
    raise TimeoutError(f"group {group} did not finish within {timeout_s}s")


def print_table(title: str, phases: Sequence[Phase], ceiling: Phase | None) -> None:
    table = Table(title=title)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("stage", "left"),
        ("events", "right"),
        ("seconds", "right"),
        ("events/s", "right"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    table.add_column("vs ceiling", justify="right")
    for phase in phases:
        ratio = f"{phase.rate / ceiling.rate:.3f}" if ceiling and phase.label != "simulate (generate events)" else ""
        if phase.label.startswith("produce"):
            ratio = ""
        table.add_row(phase.label, f"{phase.events:,}", f"{phase.seconds:.2f}", f"{phase.rate:,.0f}", ratio)
    console.print(table)
