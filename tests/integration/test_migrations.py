"""Every service's Alembic migrations produce exactly the tables its code declares."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text

from tierflow_common.db.engine import create_engine
from tierflow_common.db.inbox import claim_fresh
from tierflow_common.db.migrations import alembic_config, upgrade_to_head_async
from tierflow_common.events import encode_event
from tierflow_common.events.content import content_hash
from tierflow_common.kafka.delivery import Delivery
from tierflow_notification.adapters.tables import metadata as notification_tables
from tierflow_profile.adapters.tables import metadata as profile_tables
from tierflow_routing.adapters.tables import metadata as routing_tables
from tierflow_scoring.adapters.tables import metadata as scoring_tables
from tierflow_testing import builders as b
from tierflow_testing.infra import Infra

pytestmark = pytest.mark.integration

from tierflow_cli.services import MIGRATIONS  # noqa: E402

TABLES: dict[str, MetaData] = {
    "profile": profile_tables,
    "scoring": scoring_tables,
    "routing": routing_tables,
    "notification": notification_tables,
}


@pytest.mark.parametrize("service", sorted(TABLES))
async def test_migrations_match_the_declared_tables(infra: Infra, service: str) -> None:
    schema = f"m{uuid.uuid4().hex[:8]}_{service}"
    directory, _ = MIGRATIONS[service]
    await upgrade_to_head_async(directory, database_url=infra.database_url, schema=schema)
    await upgrade_to_head_async(directory, database_url=infra.database_url, schema=schema)  # idempotent
    engine = create_engine(infra.database_url, schema=schema, application_name="test")
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), TABLES[service]
                )
            )
    finally:
        await engine.dispose()
    assert diff == [], diff


# The revision before each inbox kept a content hash (profile 0004, scoring 0003, notification 0003).
BEFORE_CONTENT_HASH = {"profile": "0003", "scoring": "0002", "notification": "0002"}


@pytest.mark.parametrize("service", sorted(BEFORE_CONTENT_HASH))
async def test_an_inbox_migrated_with_rows_keeps_working_and_its_old_ids_are_plain_duplicates(
    infra: Infra, service: str
) -> None:
    schema = f"m{uuid.uuid4().hex[:8]}_{service}"
    directory, _ = MIGRATIONS[service]
    config = alembic_config(directory, database_url=infra.database_url, schema=schema)
    await asyncio.to_thread(command.upgrade, config, BEFORE_CONTENT_HASH[service])
    old = b.trade("C1")
    engine = create_engine(infra.database_url, schema=schema, application_name="test")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO processed_events (event_id) VALUES (:id)"), {"id": old.event_id})
        await upgrade_to_head_async(directory, database_url=infra.database_url, schema=schema)
        altered = b.trade("C1", commission="9.99", event_id=old.event_id)
        new = b.trade("C1")
        deliveries = [
            Delivery(event=e, topic="trade", partition=0, offset=n, timestamp_ms=0, value=encode_event(e))
            for n, e in enumerate((altered, new))
        ]
        async with engine.begin() as conn:
            claim = await claim_fresh(conn, deliveries)
        assert (claim.fresh, claim.duplicates, claim.conflicts) == ([new], {old.event_id}, {})
        async with engine.connect() as conn:
            hashes = dict((await conn.execute(text("SELECT event_id, content_hash FROM processed_events"))).all())
        assert hashes == {old.event_id: None, new.event_id: content_hash(encode_event(new))}
    finally:
        await engine.dispose()
