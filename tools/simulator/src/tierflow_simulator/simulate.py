"""Produce a population's history, then (optionally) a live stream, to the input topics."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tierflow_common.events.topics import Topics
from tierflow_common.kafka.producer import EventProducer
from tierflow_simulator.behaviour import Effects
from tierflow_simulator.events import SimEvent
from tierflow_simulator.history import history, live
from tierflow_simulator.population import make_population

CHUNK = 2000


@dataclass(frozen=True)
class SimulationOptions:
    """What to simulate; the same seed and options always give the same events."""

    customers: int = 2000
    events: int = 50_000
    seed: int = 42
    rate: float = 0.0
    """Events per second; 0 sends as fast as the broker takes them."""
    follow: bool = False
    """After the history, keep producing live events at `rate` (default 50/s) until stopped."""
    history_days: int = 365
    duplicate_rate: float = 0.0
    malformed_rate: float = 0.0
    now: datetime | None = None
    effects: Effects | None = None
    """True flow effects (`--effects FILE`): dormant customers come back or leave in the live stream as the
    behavioural model says; None keeps the stream exactly as without it."""


@dataclass
class SimulationReport:
    """What was produced."""

    produced: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.produced.values())


class _Pacer:
    """Keeps a long-run average rate by sleeping between chunks."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._start = time.monotonic()
        self._sent = 0

    async def wait(self, sent: int) -> None:
        self._sent += sent
        if self._rate <= 0:
            return
        ahead = self._sent / self._rate - (time.monotonic() - self._start)
        if ahead > 0:
            await asyncio.sleep(ahead)


async def produce(
    producer: EventProducer,
    events: Iterable[SimEvent],
    *,
    topics: Topics,
    rate: float,
    report: SimulationReport,
    total: int | None = None,
    show_progress: bool = True,
    label: str = "history",
    stop: asyncio.Event | None = None,
) -> None:
    """Send events in chunks, waiting for acks, at `rate` events/s (0: unthrottled)."""

    class _Routed:
        __slots__ = ("key", "topic", "value")

        def __init__(self, event: SimEvent) -> None:
            self.topic = topics.name(event.topic)
            self.key = event.key
            self.value = event.value

    pacer = _Pacer(rate)
    chunk_size = CHUNK if rate <= 0 else max(1, min(CHUNK, int(rate / 10) or 1))
    progress = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not show_progress,
    )
    with progress:
        task = progress.add_task(label, total=total)
        chunk: list[_Routed] = []
        for event in events:
            chunk.append(_Routed(event))
            report.produced[event.topic] += 1
            if len(chunk) >= chunk_size:
                await producer.send_all(chunk)
                progress.advance(task, len(chunk))
                await pacer.wait(len(chunk))
                chunk = []
                if stop is not None and stop.is_set():
                    return
        if chunk:
            await producer.send_all(chunk)
            progress.advance(task, len(chunk))


async def run_simulation(
    producer: EventProducer,
    options: SimulationOptions,
    *,
    topics: Topics,
    show_progress: bool = True,
    stop: asyncio.Event | None = None,
) -> SimulationReport:
    """Produce the history, then the live stream if asked; return the counts."""
    started = time.monotonic()
    now = options.now or datetime.now(UTC)
    population = make_population(options.customers, seed=options.seed, now=now, history_days=options.history_days)
    past = history(
        population,
        total_events=options.events,
        now=now,
        seed=options.seed,
        duplicate_rate=options.duplicate_rate,
        malformed_rate=options.malformed_rate,
    )
    report = SimulationReport()
    await produce(
        producer,
        past,
        topics=topics,
        rate=0 if options.follow else options.rate,
        report=report,
        total=len(past),
        show_progress=show_progress,
        stop=stop,
    )
    if options.follow:
        await produce(
            producer,
            live(population, seed=options.seed, effects=options.effects),
            topics=topics,
            rate=options.rate or 50.0,
            report=report,
            show_progress=show_progress,
            label="live",
            stop=stop,
        )
    report.seconds = time.monotonic() - started
    return report
