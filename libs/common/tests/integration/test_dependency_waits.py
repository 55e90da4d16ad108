"""PostgreSQL read-only (as after a failover): the loop waits with readiness red, dead-letters no valid
event, and applies everything once the database is writable again.

The test makes its own database read-only (`ALTER DATABASE ... SET default_transaction_read_only` and
terminating its sessions, so the pool reconnects into read-only sessions), never the shared one.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from tierflow_common.db.engine import create_engine
from tierflow_common.events import topics
from tierflow_profile.adapters.profiles import PROFILES
from tierflow_profile.bootstrap import MIGRATIONS_DIR, build
from tierflow_profile.settings import ProfileSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import committed_offsets, produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, migrate, running

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class OwnDatabase:
    """A database of the test's own, and the statements that flip it read-only and back."""

    def __init__(self, server_url: str, name: str) -> None:
        self.name = name
        self.server_url = server_url
        self.url = make_url(server_url).set(database=name).render_as_string(hide_password=False)

    async def _admin(self, *statements: str) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(self.server_url))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def create(self) -> None:
        await self._admin(f'CREATE DATABASE "{self.name}"')

    async def drop(self) -> None:
        for attempt in range(3):  # the embedded server has been seen closing the session mid-DROP once in a while
            try:
                await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                return
            except (asyncpg.ConnectionDoesNotExistError, ConnectionError):
                if attempt == 2:
                    raise
                await asyncio.sleep(1)

    async def read_only(self, on: bool) -> None:
        """Sessions started from now on are read-only (or writable); the current ones are ended."""
        setting = "on" if on else "off"
        await self._admin(
            f'ALTER DATABASE "{self.name}" SET default_transaction_read_only = {setting}', self._terminate()
        )

    def _terminate(self) -> str:
        return (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.name}' AND pid <> pg_backend_pid()"
        )


@pytest.fixture
async def database(ns: Namespace) -> AsyncIterator[OwnDatabase]:
    database = OwnDatabase(ns.infra.database_url, ns.name)
    await database.create()
    try:
        yield database
    finally:
        await database.drop()


@pytest.fixture
async def settings(ns: Namespace, database: OwnDatabase) -> ProfileSettings:
    infra = ns.infra_settings().model_copy(update={"database_url": SecretStr(database.url)})
    settings = ns.settings(ProfileSettings, "profile", infra=infra)
    await migrate(settings, MIGRATIONS_DIR)
    return settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def failed_attempts(error: str) -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "tierflow_events_failed"
        for sample in metric.samples
        if sample.name == "tierflow_events_failed_total"
        and sample.labels.get("service") == "profile"
        and sample.labels.get("error") == error
    )


async def test_a_read_only_database_is_waited_out_and_no_valid_event_is_dead_lettered(
    ns: Namespace, settings: ProfileSettings, database: OwnDatabase
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    customers = [f"C{i}" for i in range(6)]
    port = free_port()
    engine = create_engine(database.url, schema=settings.db_schema, application_name="test")

    async def trades(customer_id: str) -> int:
        async with engine.connect() as conn:
            profile = await PROFILES.get(conn, customer_id)
        return 0 if profile is None else profile.trades_total

    async def all_applied(count: int) -> bool:
        return all([await trades(c) == count for c in customers])

    async def readiness(client: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
        response = await client.get(f"http://127.0.0.1:{port}/readyz")
        return response.status_code, response.json()["checks"]

    try:
        async with running(build(settings), ops_port=port), httpx.AsyncClient(timeout=5) as client:
            await produce(
                ns.infra.kafka_bootstrap, trade_topic, [b.trade(c, NOW - timedelta(minutes=5)) for c in customers]
            )
            await wait_until(lambda: all_applied(1), what="the first trades applied")
            assert (await readiness(client))[0] == 200

            await engine.dispose()
            await database.read_only(True)  # a failover: the old primary is now a standby
            read_only_before = failed_attempts("ReadOnlySQLTransactionError")
            await produce(
                ns.infra.kafka_bootstrap, trade_topic, [b.trade(c, NOW - timedelta(minutes=1)) for c in customers]
            )

            async def waited_many_times() -> bool:
                return failed_attempts("ReadOnlySQLTransactionError") - read_only_before >= 4 * settings.max_attempts

            await wait_until(waited_many_times, what="the batch to be retried well past max_attempts")
            assert await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.DEAD_LETTER), timeout_s=2) == []
            status, checks = await readiness(client)
            assert status == 503
            assert checks["consumer"] != "ok" and checks["database"] == "ok"  # the ping cannot see read-only

            await database.read_only(False)  # writable again
            await wait_until(lambda: all_applied(2), what="every trade applied once the database is writable")

            async def committed_all() -> bool:
                offsets = await committed_offsets(ns.infra.kafka_bootstrap, settings.consumer_group, trade_topic)
                return sum(o or 0 for o in offsets.values()) == 2 * len(customers)

            await wait_until(committed_all, what="offsets committed")
            await wait_until(lambda: _ready(client, port), what="readiness green again")
    finally:
        await engine.dispose()
    assert await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.DEAD_LETTER), timeout_s=2) == []


async def _ready(client: httpx.AsyncClient, port: int) -> bool:
    return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
