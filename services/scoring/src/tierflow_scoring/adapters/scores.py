"""Reading and writing score states inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.engine import driver_connection
from tierflow_scoring.domain.score import ScoreState

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(ScoreState)

_LOAD = "SELECT state FROM scores WHERE customer_id = ANY($1::text[]) ORDER BY customer_id FOR UPDATE"
_DUE = text(
    "SELECT state, next_review_at FROM scores WHERE next_review_at <= :now ORDER BY next_review_at"
    " LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_UPSERT = """
    INSERT INTO scores (customer_id, version, tier, churn_band, next_review_at, policy_version, model_version,
                        updated_at, state)
    SELECT u.c, u.v, u.t, u.b, u.n, u.p, u.m, $8::timestamptz, u.s
    FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[],
                $9::bytea[]) AS u(c, v, t, b, n, p, m, s)
    ON CONFLICT (customer_id) DO UPDATE SET
        version = excluded.version, tier = excluded.tier, churn_band = excluded.churn_band,
        next_review_at = excluded.next_review_at, policy_version = excluded.policy_version,
        model_version = excluded.model_version, updated_at = excluded.updated_at, state = excluded.state
"""


def encode_state(state: ScoreState) -> bytes:
    return _encoder.encode(state)


def decode_state(raw: bytes) -> ScoreState:
    return _decoder.decode(raw)


async def load_for_update(conn: AsyncConnection, *, customer_ids: Iterable[str]) -> dict[str, ScoreState]:
    """Lock and load these customers' score states, in a fixed order."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    db = await driver_connection(conn)
    states = [decode_state(row[0]) for row in await db.fetch(_LOAD, ids)]
    return {s.customer_id: s for s in states}


async def get_score(conn: AsyncConnection, *, customer_id: str) -> ScoreState | None:
    """One customer's score state, or None."""
    row = (await conn.execute(text("SELECT state FROM scores WHERE customer_id = :c"), {"c": customer_id})).first()
    return None if row is None else decode_state(row[0])


async def save(conn: AsyncConnection, *, states: Sequence[ScoreState], now: datetime) -> None:
    """Upsert decided states (one statement)."""
    decided = [s for s in states if s.tier is not None]
    if not decided:
        return
    db = await driver_connection(conn)
    await db.execute(
        _UPSERT,
        [s.customer_id for s in decided],
        [s.version for s in decided],
        [s.tier for s in decided],
        [s.churn_band for s in decided],
        [s.next_review_at for s in decided],
        [s.policy_version for s in decided],
        [s.model_version or "" for s in decided],
        now,
        [encode_state(s) for s in decided],
    )


async def due_for_review_for_update(conn: AsyncConnection, *, now: datetime, limit: int) -> list[ScoreState]:
    """Lock up to `limit` states whose next_review_at has passed, skipping rows another process holds."""
    states = []
    for raw, review_at in await conn.execute(_DUE, {"now": now, "limit": limit}):
        state = decode_state(raw)
        state.next_review_at = review_at  # the column wins: re-scoring for new rules sets only the column
        states.append(state)
    return states


async def review_outdated(conn: AsyncConnection, *, policy_version: str, model_version: str, at: datetime) -> int:
    """Make due at `at` every customer scored under another policy or model version; return how many."""
    result = await conn.execute(
        text(
            "UPDATE scores SET next_review_at = :at WHERE (policy_version <> :p OR model_version <> :m)"
            " AND (next_review_at IS NULL OR next_review_at > :at)"
        ),
        {"at": at, "p": policy_version, "m": model_version},
    )
    return int(result.rowcount or 0)


async def repeat_statistics(conn: AsyncConnection, *, at: datetime) -> list[tuple[int, float, float]]:
    """(x, t_x, T) in days for every stored customer who has traded (for fitting the churn model)."""
    from tierflow_common.calendar import day_of

    rows = await conn.execute(text("SELECT state FROM scores"))
    today = day_of(at)
    triples = []
    for (raw,) in rows:
        inputs = decode_state(raw).inputs
        if inputs is None or inputs.repeat_x is None or inputs.repeat_t_x is None or inputs.first_trade_at is None:
            continue
        T = max(today - day_of(inputs.first_trade_at), inputs.repeat_t_x)
        triples.append((inputs.repeat_x, float(inputs.repeat_t_x), float(T)))
    return triples
