"""Reading and writing profiles inside a caller's transaction (one statement per batch each way)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_profile.adapters.state import from_state, to_state
from tierflow_profile.domain.profile import Profile

_LOAD = (
    "SELECT customer_id, version, state FROM profiles WHERE customer_id = ANY($1::text[]) "
    "ORDER BY customer_id FOR UPDATE"
)
_GET = text("SELECT version, state FROM profiles WHERE customer_id = :id")
_DUE = text(
    "SELECT customer_id, version, state FROM profiles WHERE next_review_at <= :now "
    "ORDER BY next_review_at LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_UPSERT = """
    INSERT INTO profiles (customer_id, version, state, next_review_at, updated_at)
    SELECT u.*, $5::timestamptz FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::timestamptz[]) AS u
    ON CONFLICT (customer_id) DO UPDATE SET
        version = excluded.version, state = excluded.state,
        next_review_at = excluded.next_review_at, updated_at = excluded.updated_at
"""


@dataclass(frozen=True, slots=True)
class ProfileWrite:
    """A profile to store, and when time alone will change it next (the sweeper's index)."""

    profile: Profile
    next_review_at: datetime | None


async def load_for_update(db: asyncpg.Connection, *, customer_ids: Iterable[str]) -> dict[str, Profile]:
    """Lock and load these customers' profiles (a fixed lock order avoids deadlocks between replicas)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = await db.fetch(_LOAD, ids)
    return {row[0]: from_state(row[0], row[1], row[2]) for row in rows}


async def get_profile(conn: AsyncConnection, *, customer_id: str) -> Profile | None:
    """One customer's profile, or None."""
    row = (await conn.execute(_GET, {"id": customer_id})).first()
    return None if row is None else from_state(customer_id, row.version, row.state)


async def due_for_review_for_update(conn: AsyncConnection, *, now: datetime, limit: int) -> list[Profile]:
    """Lock up to `limit` profiles whose next_review_at has passed, skipping rows another process holds."""
    rows = await conn.execute(_DUE, {"now": now, "limit": limit})
    return [from_state(row.customer_id, row.version, row.state) for row in rows]


async def save(db: asyncpg.Connection, *, writes: Sequence[ProfileWrite], now: datetime) -> None:
    """Upsert profiles in one statement (asyncpg connection, inside the caller's transaction)."""
    if not writes:
        return
    await db.execute(
        _UPSERT,
        [w.profile.customer_id for w in writes],
        [w.profile.version for w in writes],
        [to_state(w.profile) for w in writes],
        [w.next_review_at for w in writes],
        now,
    )
