"""The one place the notification service is wired: clients, adapters, the batch processor, the step runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.admission import admission_rule
from tierflow_common.auth import TokenVerifier
from tierflow_common.clock import AcceleratedClock, Clock, WallClock
from tierflow_common.events.outputs import NotificationChannel
from tierflow_common.events.topics import CONTACT, CUSTOMER, LOGIN, ROUTING, TRADE
from tierflow_common.gauges import refresh_periodically
from tierflow_common.runtime import ServiceRuntime
from tierflow_common.wiring import consumer_loop, pipeline_parts, service_runtime, sweeper_task
from tierflow_notification.adapters.channels import (
    AdvisorTaskAdapter,
    ChannelAdapter,
    CircuitBreaker,
    LogAdapter,
    WebhookAdapter,
)
from tierflow_notification.application.reasons import Outreach
from tierflow_notification.domain.calls import CallCapacity
from tierflow_notification.domain.playbooks import load_playbooks
from tierflow_notification.gauges import coverage_gauges
from tierflow_notification.runner import DeliveryPolicy, StepRunner
from tierflow_notification.service import NotificationService
from tierflow_notification.settings import NotificationSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SUBSCRIBED = (ROUTING, CUSTOMER, TRADE, LOGIN, CONTACT)  # every event type on these has a handler (handlers.py)


@dataclass(frozen=True, slots=True)
class TaskApiDependencies:
    """What the task API's routes use (read through api/deps.py)."""

    engine: AsyncEngine
    verifier: TokenVerifier
    clock: Clock
    max_body_bytes: int = 16 * 1024
    outreach: Outreach | None = None  # plans a reason's branch when a task is closed (None: no task asks)
    calls: CallCapacity = field(default_factory=CallCapacity)  # the playbook file's governance.calls (GET /v1/calls)


@dataclass(frozen=True, slots=True)
class NotificationWorker:
    """The service process as built: its runtime, and the dependencies its task API is served with."""

    runtime: ServiceRuntime
    task_api: TaskApiDependencies


def build_worker(settings: NotificationSettings) -> NotificationWorker:
    """Consumer loop on decisions, customers, trades, logins and contacts; the step runner; the coverage gauges;
    the task API's clients."""
    settings.check_secrets()  # the task API verifies tokens: refuse a weak or unreadable key before anything starts
    playbooks = load_playbooks(settings.playbook_file)
    parts = pipeline_parts("notification", settings)
    clock: Clock = AcceleratedClock(settings.clock_speed) if settings.clock_speed != 1 else parts.clock
    service = NotificationService(
        outbox=parts.outbox,
        topics=parts.topics,
        clock=clock,
        playbooks=playbooks,
        rule=admission_rule(settings.admission),
    )
    log_adapter = LogAdapter()
    adapters: dict[NotificationChannel, ChannelAdapter] = {
        channel: log_adapter for channel in NotificationChannel if channel is not NotificationChannel.ADVISOR_TASK
    }
    adapters[NotificationChannel.ADVISOR_TASK] = AdvisorTaskAdapter(parts.engine)
    webhook = None
    if settings.webhook_url:
        breaker = CircuitBreaker(threshold=settings.breaker_threshold, reset_after_s=settings.breaker_reset_s)
        webhook = WebhookAdapter(settings.webhook_url, timeout_s=settings.webhook_timeout_s, breaker=breaker)
        adapters.update({channel: webhook for channel in settings.webhook_channels})
    runner = StepRunner(
        outbox=parts.outbox,
        topics=parts.topics,
        clock=clock,
        governance=playbooks.governance,
        adapters=adapters,
        policy=DeliveryPolicy(
            max_attempts=settings.delivery_max_attempts,
            backoff_s=settings.delivery_backoff_s,
            backoff_max_s=settings.delivery_backoff_max_s,
            lease_s=settings.sending_lease_s,
            timeout_s=settings.webhook_timeout_s * 2,
            concurrency=settings.deliver_concurrency,
            clock_speed=settings.clock_speed,
        ),
        batch=settings.sweep_batch,
    )
    loop = consumer_loop(parts, subscribe=SUBSCRIBED, processor=service)
    # Coverage compares due times set on the step timers' clock, so it reads that clock too.
    gauges = partial(
        refresh_periodically, refresh=coverage_gauges(parts.engine, clock), interval_s=settings.coverage_refresh_s
    )
    runtime = service_runtime(parts, loop, background=[sweeper_task(parts, runner.sweep_once), gauges])
    if webhook is not None:
        runtime.shutdown.append(webhook.close)
    # People close tasks at the time on the wall, whatever clock the step timers run on.
    verifier = TokenVerifier.from_settings(settings)
    task_api = TaskApiDependencies(
        engine=parts.engine,
        verifier=verifier,
        clock=WallClock(),
        max_body_bytes=settings.task_api_max_body_bytes,
        outreach=Outreach(playbooks=playbooks, outbox=parts.outbox, topics=parts.topics, clock=clock),
        calls=playbooks.governance.calls,
    )
    return NotificationWorker(runtime=runtime, task_api=task_api)
