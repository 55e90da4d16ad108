"""The one place the profile service is wired: settings in, a runnable service out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from tierflow_common.admission import REPLAY, admission_rule
from tierflow_common.clock import EventTimeClock
from tierflow_common.db.engine import create_engine
from tierflow_common.db.outbox import Outbox, OutboxMode
from tierflow_common.events.topics import INPUT_TOPICS, Topics
from tierflow_common.gauges import refresh_periodically, review_backlog_refresher
from tierflow_common.kafka.connection import client_options
from tierflow_common.kafka.producer import EventProducer
from tierflow_common.kafka.replay import LogReader
from tierflow_common.runtime import ServiceRuntime
from tierflow_common.wiring import consumer_loop, pipeline_parts, service_runtime, sweeper_task
from tierflow_profile.service import ProfileService
from tierflow_profile.settings import ProfileSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def build(settings: ProfileSettings) -> ServiceRuntime:
    """Build the profile service's clients, batch processor, consumer loop and sweeper."""
    parts = pipeline_parts("profile", settings)
    service = ProfileService(
        rule=admission_rule(settings.admission),
        engine=parts.engine,
        outbox=parts.outbox,
        topics=parts.topics,
        clock=parts.clock,
        sweep_batch=settings.sweep_batch,
    )
    loop = consumer_loop(parts, subscribe=INPUT_TOPICS, processor=service)
    backlog = partial(refresh_periodically, refresh=review_backlog_refresher("profile", parts.engine, "profiles"))
    return service_runtime(parts, loop, background=[sweeper_task(parts, service.sweep_once), backlog])


@dataclass(frozen=True, slots=True)
class RebuildParts:
    """A rebuild job's clients: the log range to read, the service writing into the target schema, its clock."""

    reader: LogReader
    service: ProfileService
    clock: EventTimeClock
    producer: EventProducer | None
    dispose: Callable[[], Awaitable[None]]


def build_rebuild(
    settings: ProfileSettings, *, schema: str, customer_id: str | None, since: datetime | None, publish: bool
) -> RebuildParts:
    """Wire a rebuild into `schema`: event time, no late horizon (a replay is not late), publishing only if asked."""
    infra = settings.infra
    names = Topics(infra.topic_prefix)
    options = client_options(infra)
    engine = create_engine(
        infra.database_url.get_secret_value(), schema=schema, application_name="tierflow-profile-rebuild"
    )
    producer = EventProducer(options, client_id="tierflow-profile-rebuild") if publish else None
    clock = EventTimeClock()
    service = ProfileService(
        engine=engine,
        outbox=Outbox(
            service="profile-rebuild",
            engine=engine,
            producer=producer,
            mode=OutboxMode.PUBLISH if publish else OutboxMode.DISCARD,
        ),
        topics=names,
        clock=clock,
        rule=REPLAY,
        shadow=None if schema == settings.db_schema else schema,
    )
    reader = LogReader(
        options,
        [names.name(t) for t in INPUT_TOPICS],
        names=names,
        since=since,
        key=None if customer_id is None else customer_id.encode(),
    )
    return RebuildParts(reader=reader, service=service, clock=clock, producer=producer, dispose=engine.dispose)
