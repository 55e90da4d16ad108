"""Every service's Alembic migrations produce exactly the tables its code declares."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from tierflow_common.db.engine import create_engine
from tierflow_common.db.migrations import upgrade_to_head_async
from tierflow_notification.adapters.tables import metadata as notification_tables
from tierflow_profile.adapters.tables import metadata as profile_tables
from tierflow_routing.adapters.tables import metadata as routing_tables
from tierflow_scoring.adapters.tables import metadata as scoring_tables
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
