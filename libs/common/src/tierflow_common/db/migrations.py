"""Alembic, run per service inside that service's schema; one env.py body shared by all."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from tierflow_common.db.engine import check_schema_name, create_engine


def alembic_config(migrations_dir: Path, *, database_url: str, schema: str) -> Config:
    """An Alembic config for one service's migrations, targeting `schema`."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = database_url
    config.attributes["schema"] = check_schema_name(schema)
    return config


def upgrade_to_head(migrations_dir: Path, *, database_url: str, schema: str) -> None:
    """Create the schema if needed and apply all migrations (blocking; safe to run concurrently)."""
    command.upgrade(alembic_config(migrations_dir, database_url=database_url, schema=schema), "head")


async def upgrade_to_head_async(migrations_dir: Path, *, database_url: str, schema: str) -> None:
    """`upgrade_to_head` from async code (Alembic runs its own event loop in a worker thread)."""
    await asyncio.to_thread(upgrade_to_head, migrations_dir, database_url=database_url, schema=schema)


def run_migrations_online(context: Any, target_metadata: MetaData) -> None:
    """The body of every service's env.py."""
    config = context.config
    schema: str = config.attributes["schema"]
    database_url: str = config.attributes["database_url"]

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_engine(database_url, schema=schema, application_name=f"migrate-{schema}", pool_size=1)
        try:
            async with engine.connect() as connection:
                # Two replicas starting at once must not both migrate: a session lock serialises them.
                await connection.execute(text("SELECT pg_advisory_lock(hashtext(:s))"), {"s": f"schema:{schema}"})
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await connection.commit()
                await connection.run_sync(migrate)
                await connection.commit()
                await connection.execute(text("SELECT pg_advisory_unlock(hashtext(:s))"), {"s": f"schema:{schema}"})
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
