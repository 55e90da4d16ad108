"""Customers, routes and the decision log, inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.engine import driver_connection
from tierflow_routing.domain.facts import CustomerState, Route

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
_ROUTE_COLUMNS = (
    "customer_id, version, decision_id, flow, advisor_id, priority, active, rule, tier, churn_band, reasons,"
    " policy_version, decided_at, supersedes, caused_by"
)
_UPSERT_ROUTES = f"""
    INSERT INTO routes ({_ROUTE_COLUMNS}, updated_at)
    SELECT u.*, $16::timestamptz FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::text[],
        $6::text[], $7::boolean[], $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::text[],
        $13::timestamptz[], $14::uuid[], $15::uuid[]) AS u
    ON CONFLICT (customer_id) DO UPDATE SET version = excluded.version, decision_id = excluded.decision_id,
        flow = excluded.flow, advisor_id = excluded.advisor_id, priority = excluded.priority,
        active = excluded.active, rule = excluded.rule, tier = excluded.tier, churn_band = excluded.churn_band,
        reasons = excluded.reasons, policy_version = excluded.policy_version, decided_at = excluded.decided_at,
        supersedes = excluded.supersedes, caused_by = excluded.caused_by, updated_at = excluded.updated_at
"""
_INSERT_DECISIONS = f"""
    INSERT INTO decisions ({_ROUTE_COLUMNS})
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::boolean[],
        $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::text[], $13::timestamptz[], $14::uuid[], $15::uuid[])
    ON CONFLICT (decision_id) DO NOTHING
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
    row = (await conn.execute(text("SELECT state FROM customers WHERE customer_id = :c"), {"c": customer_id})).first()
    return None if row is None else decode_state(row[0])


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


def _route_arrays(states: Sequence[CustomerState]) -> list[list[Any]]:
    routes: list[Route] = [s.route for s in states if s.route is not None]
    owners = [s for s in states if s.route is not None]
    return [
        [s.customer_id for s in owners],
        [r.version for r in routes],
        [UUID(r.decision_id) for r in routes],
        [r.flow for r in routes],
        [r.advisor_id for r in routes],
        [r.priority for r in routes],
        [r.active for r in routes],
        [r.rule for r in routes],
        [s.score.tier or "C" for s in owners],
        [s.score.churn_band for s in owners],
        [orjson.dumps([{"code": c, "contribution": w, "detail": d} for c, w, d in r.reasons]).decode() for r in routes],
        [r.policy_version for r in routes],
        [r.decided_at for r in routes],
        [None if r.supersedes is None else UUID(r.supersedes) for r in routes],
        [None if r.caused_by is None else UUID(r.caused_by) for r in routes],
    ]


async def save_routes(
    conn: AsyncConnection, *, current: Sequence[CustomerState], decided: Sequence[CustomerState], now: datetime
) -> None:
    """Upsert the current routes of `current`; append the new decisions of `decided` to the log."""
    db = await driver_connection(conn)
    if any(s.route is not None for s in current):
        await db.execute(_UPSERT_ROUTES, *_route_arrays(current), now)
    if decided:
        await db.execute(_INSERT_DECISIONS, *_route_arrays(decided))


async def due_for_review_for_update(conn: AsyncConnection, *, now: datetime, limit: int) -> list[CustomerState]:
    rows = await conn.execute(
        text(
            "SELECT state FROM customers WHERE next_review_at <= :now ORDER BY next_review_at LIMIT :limit"
            " FOR UPDATE SKIP LOCKED"
        ),
        {"now": now, "limit": limit},
    )
    return [decode_state(row[0]) for row in rows]


async def mark_due(conn: AsyncConnection, *, customer_ids: Sequence[str], at: datetime) -> None:
    """Ask the sweeper to re-route these customers (at `at`, so earlier ones go first)."""
    if customer_ids:
        await conn.execute(
            text("UPDATE customers SET next_review_at = :at WHERE customer_id = ANY(:ids)"),
            {"at": at, "ids": list(customer_ids)},
        )


async def mark_outdated_due(conn: AsyncConnection, *, policy_version: str, at: datetime) -> int:
    """Every routed customer last evaluated under another policy version becomes due (a policy change).

    The evaluation counts, not the decision: a customer the new policy leaves where they were keeps
    the old `policy_version` on their route, and is not due again at the next start.
    """
    return await _mark_routed_due(conn, "c.evaluated_policy IS DISTINCT FROM :match", policy_version, at)


async def mark_advisor_customers_due(conn: AsyncConnection, *, advisor_id: str, at: datetime) -> int:
    """Every customer routed to this advisor becomes due (the advisor may no longer suit them)."""
    return await _mark_routed_due(conn, "r.advisor_id = :match", advisor_id, at)


async def _mark_routed_due(conn: AsyncConnection, route_condition: str, match: str, at: datetime) -> int:
    """Customers whose route meets `route_condition` become due at `at`, unless due earlier already."""
    result = await conn.execute(
        text(
            "UPDATE customers c SET next_review_at = :at FROM routes r WHERE r.customer_id = c.customer_id"
            f" AND {route_condition} AND (c.next_review_at IS NULL OR c.next_review_at > :at)"
        ),
        {"at": at, "match": match},
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class RouteRow:
    customer_id: str
    decision_id: UUID
    version: int
    flow: str
    advisor_id: str | None
    priority: str
    active: bool
    rule: str
    tier: str
    churn_band: str | None
    reasons: list[dict[str, Any]]
    policy_version: str
    decided_at: datetime


_ROUTE_READ = (
    "SELECT customer_id, decision_id, version, flow, advisor_id, priority, active, rule, tier, churn_band, reasons,"
    " policy_version, decided_at FROM routes"
)


async def get_route(conn: AsyncConnection, *, customer_id: str) -> RouteRow | None:
    row = (await conn.execute(text(f"{_ROUTE_READ} WHERE customer_id = :c"), {"c": customer_id})).first()
    return None if row is None else RouteRow(*row)


async def get_routes(conn: AsyncConnection, *, customer_ids: Iterable[str]) -> list[RouteRow]:
    ids = list(set(customer_ids))
    if not ids:
        return []
    rows = await conn.execute(text(f"{_ROUTE_READ} WHERE customer_id = ANY(:ids)"), {"ids": ids})
    return [RouteRow(*row) for row in rows]


async def list_routes(
    conn: AsyncConnection,
    *,
    flow: str | None,
    advisor_id: str | None,
    tier: str | None,
    after: str | None,
    limit: int,
) -> list[RouteRow]:
    """Routes ordered by customer id, after the cursor, with optional filters (index-backed)."""
    where = ["active"]
    params: dict[str, Any] = {"limit": limit}
    for name, value in (("flow", flow), ("advisor_id", advisor_id), ("tier", tier)):
        if value is not None:
            where.append(f"{name} = :{name}")
            params[name] = value
    if after is not None:
        where.append("customer_id > :after")
        params["after"] = after
    query = f"{_ROUTE_READ} WHERE {' AND '.join(where)} ORDER BY customer_id LIMIT :limit"
    return [RouteRow(*row) for row in await conn.execute(text(query), params)]


async def route_counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(text("SELECT flow, count(*) FROM routes WHERE active GROUP BY flow"))
    return {flow: count for flow, count in rows}
