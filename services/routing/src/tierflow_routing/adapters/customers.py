"""Each customer's routing state (facts, score, route, override), inside a caller's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

import msgspec
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.engine import driver_connection
from tierflow_routing.adapters.tables import customers, routes
from tierflow_routing.domain.facts import CustomerState

_encoder = msgspec.msgpack.Encoder(decimal_format="string")
_decoder = msgspec.msgpack.Decoder(CustomerState)


def encode_state(state: CustomerState) -> bytes:
    return _encoder.encode(state)


def decode_state(raw: bytes) -> CustomerState:
    return _decoder.decode(raw)


_LOAD = "SELECT state FROM customers WHERE customer_id = ANY($1::text[]) ORDER BY customer_id FOR UPDATE"
_UPSERT_CUSTOMERS = """
    INSERT INTO customers (customer_id, profile_version, score_version, next_review_at, updated_at, state,
        evaluated_policy)
    SELECT u.c, u.p, u.s, u.n, $5::timestamptz, u.b, u.e
    FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::timestamptz[], $6::bytea[], $7::text[])
        AS u(c, p, s, n, b, e)
    ON CONFLICT (customer_id) DO UPDATE SET profile_version = excluded.profile_version,
        score_version = excluded.score_version, next_review_at = excluded.next_review_at,
        updated_at = excluded.updated_at, state = excluded.state, evaluated_policy = excluded.evaluated_policy
"""


async def load_for_update(conn: AsyncConnection, *, customer_ids: Iterable[str]) -> dict[str, CustomerState]:
    """Lock and load these customers' states, in a fixed order."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    db = await driver_connection(conn)
    states = [decode_state(row[0]) for row in await db.fetch(_LOAD, ids)]
    return {s.customer_id: s for s in states}


async def get_state(conn: AsyncConnection, *, customer_id: str) -> CustomerState | None:
    """One customer's state, or None."""
    raw = (await conn.execute(select(customers.c.state).where(customers.c.customer_id == customer_id))).scalar()
    return None if raw is None else decode_state(raw)


def next_review(state: CustomerState) -> datetime | None:
    """Time-driven work routing has for this customer: an override expiring."""
    return None if state.override is None else state.override.expires_at


async def save_states(conn: AsyncConnection, *, states: Sequence[CustomerState], now: datetime) -> None:
    if not states:
        return
    db = await driver_connection(conn)
    await db.execute(
        _UPSERT_CUSTOMERS,
        [s.customer_id for s in states],
        [s.profile.profile_version for s in states],
        [s.score.score_version for s in states],
        [next_review(s) for s in states],
        now,
        [encode_state(s) for s in states],
        [s.evaluated_policy for s in states],
    )


async def due_for_review_for_update(conn: AsyncConnection, *, now: datetime, limit: int) -> list[CustomerState]:
    """Lock up to `limit` customers whose next_review_at has passed, skipping rows another process holds."""
    rows = await conn.execute(
        select(customers.c.state)
        .where(customers.c.next_review_at <= now)
        .order_by(customers.c.next_review_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [decode_state(raw) for raw in rows.scalars()]


async def stream_states(conn: AsyncConnection) -> AsyncIterator[CustomerState]:
    """Every stored customer's state, streamed (for simulations)."""
    result = await conn.stream_scalars(select(customers.c.state))
    async for raw in result:
        yield decode_state(raw)


async def mark_due(conn: AsyncConnection, *, customer_ids: Sequence[str], at: datetime) -> None:
    """Ask the sweeper to re-route these customers (at `at`, so earlier ones go first)."""
    if customer_ids:
        await conn.execute(
            update(customers).where(customers.c.customer_id.in_(list(customer_ids))).values(next_review_at=at)
        )


async def mark_outdated_due(conn: AsyncConnection, *, policy_version: str, at: datetime) -> int:
    """Every routed customer last evaluated under another policy version becomes due (a policy change).

    The evaluation counts, not the decision: a customer the new policy leaves where they were keeps
    the old `policy_version` on their route, and is not due again at the next start.
    """
    return await _mark_routed_due(conn, customers.c.evaluated_policy.is_distinct_from(policy_version), at)


async def mark_advisor_customers_due(conn: AsyncConnection, *, advisor_id: str, at: datetime) -> int:
    """Every customer routed to this advisor becomes due (the advisor may no longer suit them)."""
    return await _mark_routed_due(conn, routes.c.advisor_id == advisor_id, at)


async def _mark_routed_due(conn: AsyncConnection, condition: ColumnElement[bool], at: datetime) -> int:
    """Routed customers meeting `condition` become due at `at`, unless due earlier already."""
    result = await conn.execute(
        update(customers)
        .where(
            routes.c.customer_id == customers.c.customer_id,
            condition,
            or_(customers.c.next_review_at.is_(None), customers.c.next_review_at > at),
        )
        .values(next_review_at=at)
    )
    return int(result.rowcount or 0)
