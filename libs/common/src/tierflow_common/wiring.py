"""Building blocks every service's bootstrap.py assembles: clients, outbox, consumer loop, runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock, make_clock
from tierflow_common.config import ServiceSettings
from tierflow_common.db.engine import create_engine, ping
from tierflow_common.db.outbox import Outbox
from tierflow_common.events.topics import DEAD_LETTER, Topics
from tierflow_common.kafka.connection import client_options
from tierflow_common.kafka.consumer import ConsumerLoop, LoopSettings
from tierflow_common.kafka.dead_letter import DeadLetterer
from tierflow_common.kafka.delivery import BatchProcessor
from tierflow_common.kafka.producer import EventProducer
from tierflow_common.ops import ReadinessCheck
from tierflow_common.runtime import BackgroundTask, ServiceRuntime
from tierflow_common.sweeper import SweepOnce, run_sweeper


@dataclass
class PipelineParts:
    """The clients a consuming service needs, built from its settings; nothing is connected yet."""

    name: str
    settings: ServiceSettings
    topics: Topics
    clock: Clock
    kafka_options: dict[str, Any]
    engine: AsyncEngine
    producer: EventProducer
    outbox: Outbox
    dead_letterer: DeadLetterer
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def database_engine(settings: ServiceSettings, *, application_name: str) -> AsyncEngine:
    """An engine on the service's schema (`db_schema`, env prefix respected); nothing is connected yet."""
    return create_engine(
        settings.infra.database_url.get_secret_value(),
        schema=settings.db_schema,
        application_name=application_name,
        pool_size=settings.db_pool_size,
    )


def pipeline_parts(name: str, settings: ServiceSettings, *, clock: Clock | None = None) -> PipelineParts:
    """Engine, producer, outbox and dead-letterer for service `name`."""
    infra = settings.infra
    topics = Topics(infra.topic_prefix)
    options = client_options(infra)
    engine = database_engine(settings, application_name=f"tierflow-{name}")
    producer = EventProducer(options, client_id=f"tierflow-{name}")
    return PipelineParts(
        name=name,
        settings=settings,
        topics=topics,
        clock=clock or make_clock(settings.clock),
        kafka_options=options,
        engine=engine,
        producer=producer,
        outbox=Outbox(service=name, engine=engine, producer=producer),
        dead_letterer=DeadLetterer(
            producer=producer,
            topic=topics.name(DEAD_LETTER),
            service=name,
            group_id=settings.consumer_group,
            max_bytes=settings.dead_letter_max_bytes,
        ),
        startup=[producer.start],
        shutdown=[engine.dispose, producer.stop],
    )


def loop_settings(settings: ServiceSettings) -> LoopSettings:
    """The consumer-loop tuning from a service's settings."""
    return LoopSettings(
        batch_max_records=settings.batch_max_records,
        batch_timeout_ms=settings.batch_timeout_ms,
        max_attempts=settings.max_attempts,
        retry_backoff_ms=settings.retry_backoff_ms,
        retry_backoff_max_ms=settings.retry_backoff_max_ms,
        session_timeout_ms=settings.session_timeout_ms,
        max_poll_interval_ms=settings.max_poll_interval_ms,
    )


def consumer_loop(parts: PipelineParts, *, subscribe: Sequence[str], processor: BatchProcessor) -> ConsumerLoop:
    """The one consumer loop, subscribed to base topics `subscribe` under the configured prefix."""
    return ConsumerLoop(
        service=parts.name,
        topics=[parts.topics.name(t) for t in subscribe],
        topic_names=parts.topics,
        group_id=parts.settings.consumer_group,
        client_options=parts.kafka_options,
        processor=processor,
        dead_letterer=parts.dead_letterer,
        clock=parts.clock,
        settings=loop_settings(parts.settings),
    )


def sweeper_task(parts: PipelineParts, sweep_once: SweepOnce) -> BackgroundTask:
    """A background task that runs the service's sweep on its interval."""
    return partial(run_sweeper, service=parts.name, sweep_once=sweep_once, interval_s=parts.settings.sweep_interval_s)


def service_runtime(
    parts: PipelineParts,
    loop: ConsumerLoop,
    *,
    checks: dict[str, ReadinessCheck] | None = None,
    background: Sequence[BackgroundTask] = (),
) -> ServiceRuntime:
    """Assemble the runtime with database, Kafka and consumer-loop readiness checks.

    `consumer` is red while the loop waits on a dependency that answers but refuses work (a read-only
    database after a failover, a full disk, Kafka refusing outputs), which the pings do not see.
    """

    async def database() -> None:
        await ping(parts.engine)

    async def kafka() -> None:
        await asyncio.wait_for(parts.producer.check(), 2.0)

    return ServiceRuntime(
        name=parts.name,
        loop=loop,
        checks={"database": database, "kafka": kafka, "consumer": loop.check_not_waiting, **(checks or {})},
        startup=list(parts.startup),
        shutdown=list(parts.shutdown),
        background=list(background),
    )
