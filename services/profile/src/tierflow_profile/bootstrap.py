"""The one place the profile service is wired: settings in, a runnable service out."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from tierflow_common.events.topics import INPUT_TOPICS
from tierflow_common.gauges import refresh_periodically, review_backlog_refresher
from tierflow_common.runtime import ServiceRuntime
from tierflow_common.wiring import consumer_loop, pipeline_parts, service_runtime, sweeper_task
from tierflow_profile.domain.admission import AdmissionRule
from tierflow_profile.service import ProfileService
from tierflow_profile.settings import ProfileSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def admission_rule(settings: ProfileSettings) -> AdmissionRule:
    """The late/future event rule from settings."""
    tolerance = settings.future_tolerance_s
    return AdmissionRule(
        horizon_days=settings.late_horizon_days,
        future_tolerance=None if tolerance is None else timedelta(seconds=tolerance),
    )


def build(settings: ProfileSettings) -> ServiceRuntime:
    """Build the profile service's clients, handler, consumer loop and sweeper."""
    parts = pipeline_parts("profile", settings)
    service = ProfileService(
        rule=admission_rule(settings),
        engine=parts.engine,
        producer=parts.producer,
        outbox=parts.outbox,
        topics=parts.topics,
        clock=parts.clock,
        sweep_batch=settings.sweep_batch,
    )
    loop = consumer_loop(parts, subscribe=INPUT_TOPICS, processor=service)
    backlog = partial(refresh_periodically, refresh=review_backlog_refresher("profile", parts.engine, "profiles"))
    return service_runtime(parts, loop, background=[sweeper_task(parts, service.sweep_once), backlog])
