"""Async SQLAlchemy engines whose connections live in one service's schema (search_path)."""

from __future__ import annotations

import re
from typing import cast

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tierflow_common.exceptions import ConfigurationError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(schema: str) -> str:
    """Return the schema name if it is a plain lowercase identifier (it is interpolated into DDL)."""
    if not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(f"invalid database schema name {schema!r}")
    return schema


def async_database_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the asyncpg form."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in {"postgres", "postgresql"}:
        raise ConfigurationError("DATABASE_URL must be a PostgreSQL URL")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(url: str, *, schema: str, application_name: str, pool_size: int = 5) -> AsyncEngine:
    """An engine whose sessions see `schema` first on the search path; no connection is opened yet."""
    check_schema_name(schema)
    return create_async_engine(
        async_database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=lambda value: orjson.dumps(value).decode(),
        json_deserializer=orjson.loads,
        connect_args={
            "server_settings": {"search_path": f"{schema},public", "application_name": application_name},
            "command_timeout": 60,
        },
    )


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy one, inside the same transaction (for hot paths).

    SQLAlchemy sends BEGIN lazily, with its first statement; statements sent straight to the
    driver before that would run outside the transaction (autocommit). So when the SQLAlchemy
    connection is in a transaction that the server has not seen yet, one trivial statement
    starts it first.
    """
    raw = await conn.get_raw_connection()
    driver = cast(asyncpg.Connection, raw.driver_connection)
    if conn.in_transaction() and not driver.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    return driver


async def raw_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy one that has not begun a transaction.

    For hot paths that run their own `async with db.transaction():`; SQLAlchemy is then only the
    pool. Do not mix SQLAlchemy statements on `conn` into such a transaction.
    """
    raw = await conn.get_raw_connection()
    return cast(asyncpg.Connection, raw.driver_connection)
