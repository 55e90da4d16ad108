"""The one place the scoring service is wired."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tierflow_common.events.topics import PROFILE
from tierflow_common.gauges import refresh_periodically
from tierflow_common.runtime import ServiceRuntime
from tierflow_common.wiring import consumer_loop, pipeline_parts, service_runtime, sweeper_task
from tierflow_scoring import metrics
from tierflow_scoring.application.rules import ActiveRules
from tierflow_scoring.service import ScoringService
from tierflow_scoring.settings import ScoringSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def build(settings: ScoringSettings) -> ServiceRuntime:
    """Build the scoring service: rules registry, consumer loop on profiles, sweeper, rules refresh."""
    parts = pipeline_parts("scoring", settings)
    rules = ActiveRules(
        engine=parts.engine,
        clock=parts.clock,
        default_policy=settings.default_policy_file,
        refresh_s=settings.rules_refresh_s,
    )
    service = ScoringService(
        outbox=parts.outbox, topics=parts.topics, clock=parts.clock, rules=rules, sweep_batch=settings.sweep_batch
    )
    loop = consumer_loop(parts, subscribe=[PROFILE], processor=service)
    gauges = partial(refresh_periodically, refresh=metrics.gauge_refresher(parts.engine))
    runtime = service_runtime(parts, loop, background=[sweeper_task(parts, service.sweep_once), rules.run, gauges])
    runtime.startup.append(service.start)
    return runtime
