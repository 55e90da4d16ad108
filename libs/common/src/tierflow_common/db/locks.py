"""Serialising rare writers across processes with a PostgreSQL transaction lock."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def hold_until_commit(conn: AsyncConnection, name: str) -> None:
    """Wait for, then hold until this transaction ends, the lock called `name` in the current schema.

    For writes that several replicas may attempt at once (installing a default policy at start-up,
    activating a version): the second writer waits, then sees what the first committed.
    """
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':' || :name))"), {"name": name})
