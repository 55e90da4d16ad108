"""Notification integration helpers: settings, customers in daylight, reading the log and the topic, the task API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.auth import TokenVerifier, mint_token
from tierflow_common.clock import zone_where_it_is
from tierflow_common.db.engine import create_engine
from tierflow_common.events import NotificationRecorded, decode_event, topics
from tierflow_common.events.outputs import Priority, Tier
from tierflow_common.ops import OpsServer
from tierflow_notification.adapters import records as record_store
from tierflow_notification.adapters import tasks
from tierflow_notification.api.app import create_app
from tierflow_notification.bootstrap import MIGRATIONS_DIR, TaskApiDependencies
from tierflow_notification.domain.tasks import AdvisorTask, TaskStatus
from tierflow_notification.settings import NotificationSettings
from tierflow_testing import builders as b
from tierflow_testing.clock import SetClock
from tierflow_testing.kafka import produce, read_topic
from tierflow_testing.plugin import Namespace, migrate

SECRET = "notification-test-secret-0123456789-abcdef"
ALL_CONSENTS = {
    "marketing_push": True,
    "marketing_sms": True,
    "marketing_email": True,
    "marketing_phone": True,
    "data_for_advice": True,
}


@pytest.fixture
async def settings(ns: Namespace) -> NotificationSettings:
    settings = ns.settings(
        NotificationSettings, "notification", jwt_secret=SECRET, sweep_interval_s=0.1, delivery_backoff_s=0.2
    )
    await migrate(settings, MIGRATIONS_DIR)
    return settings


async def add_customer(ns: Namespace, customer_id: str, consents: dict[str, bool] | None = None) -> None:
    event = b.customer(customer_id, datetime.now(UTC), consents=consents or ALL_CONSENTS, timezone=zone_where_it_is(12))
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.CUSTOMER), [event])


async def decide(ns: Namespace, customer_id: str, version: int, flow: str, **fields: Any) -> None:
    event = b.routing_decided(customer_id, version, flow, at=datetime.now(UTC), **fields)
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.ROUTING), [event])


async def records(ns: Namespace, *, min_count: int = 0, timeout_s: float = 30) -> list[NotificationRecorded]:
    """Every tierflow.notification.v1 message so far, deduplicated by event id."""
    raw = await read_topic(
        ns.infra.kafka_bootstrap, ns.topics.name(topics.NOTIFICATION), min_count=min_count, timeout_s=timeout_s
    )
    events = [decode_event(r.value, key=r.key, base_topic=topics.NOTIFICATION) for r in raw]
    unique = {e.event_id: e for e in events if isinstance(e, NotificationRecorded)}
    return list(unique.values())


def outcomes(events: list[NotificationRecorded], customer_id: str) -> list[tuple[str, str, str]]:
    """(template, status, reason) of one customer's records, sorted."""
    return sorted(
        (e.payload.template, e.payload.status.value, e.payload.reason) for e in events if e.customer_id == customer_id
    )


@pytest.fixture
async def log_reader(settings: NotificationSettings) -> AsyncIterator[Any]:
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="test"
    )

    async def read(customer_id: str) -> list[tuple[str, str, str]]:
        async with engine.connect() as conn:
            rows = await record_store.records_for_customer(conn, customer_id=customer_id)
        return [(str(r["template"]), str(r["status"]), str(r["reason"])) for r in rows]

    yield read
    await engine.dispose()


def bearer(*scopes: str, subject: str = "advisor-ui", advisor: str | None = None) -> dict[str, str]:
    """A signed token with these scopes (none: no Authorization header); `advisor`: an advisor's own token."""
    if not scopes:
        return {}
    token = mint_token(secret=SECRET, subject=subject, scopes=list(scopes), advisor_id=advisor)
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class TaskApi:
    """The task API as the worker serves it on its ops port, over TCP, on a migrated schema."""

    client: httpx.AsyncClient
    engine: AsyncEngine
    clock: SetClock

    async def open_tasks(
        self, advisor_id: str | None, count: int, *, status: TaskStatus = TaskStatus.OPEN
    ) -> list[str]:
        """Store `count` tasks for an advisor (None: the outreach queue); their ids in id order."""
        created = self.clock.now() - timedelta(hours=1)
        stored = [
            AdvisorTask(
                task_id=uuid.uuid4(),
                advisor_id=advisor_id,
                customer_id=f"C{n}",
                decision_id=uuid.uuid4(),
                template="advisor.new_customer" if advisor_id else "reactivation.call_day7",
                priority=Priority.NORMAL,
                due_at=created + timedelta(days=2),
                status=status,
                created_at=created,
                tier=Tier.A if advisor_id else Tier.D,
            )
            for n in range(count)
        ]
        async with self.engine.begin() as conn:
            for task in stored:
                await tasks.open_task(conn, task)
        return sorted(str(t.task_id) for t in stored)


@pytest.fixture
async def task_api(settings: NotificationSettings) -> AsyncIterator[TaskApi]:
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="test"
    )
    clock = SetClock(datetime(2026, 11, 20, 4, 0, tzinfo=UTC))
    app = create_app(TaskApiDependencies(engine=engine, verifier=TokenVerifier.from_settings(settings), clock=clock))
    server = OpsServer(service="notification", checks={}, alive=lambda: True, api=app)
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            yield TaskApi(client, engine, clock)
    finally:
        await server.stop()
        await engine.dispose()
