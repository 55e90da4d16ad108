"""The inbox: which event ids already had their effects committed (effectively-once)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from tierflow_common.events.envelope import Event
    from tierflow_common.kafka.delivery import Delivery

E = TypeVar("E")

_CLAIM = text(
    "INSERT INTO processed_events (event_id) SELECT unnest(CAST(:ids AS uuid[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_CLAIM_TIMED_SQL = (
    "INSERT INTO processed_events (event_id, occurred_at) "
    "SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_PRUNE = text(
    "DELETE FROM processed_events WHERE event_id IN "
    "(SELECT event_id FROM processed_events WHERE occurred_at < :before LIMIT :limit)"
)


async def claim_new_events(conn: AsyncConnection, event_ids: Iterable[UUID]) -> set[UUID]:
    """Record event ids as processed in the caller's transaction; return the ones never seen before."""
    ids = list(set(event_ids))
    if not ids:
        return set()
    result = await conn.execute(_CLAIM, {"ids": ids})
    return {row[0] for row in result}


async def claim_new_timed_events(db: asyncpg.Connection, events: Iterable[tuple[UUID, datetime]]) -> set[UUID]:
    """`claim_new_events` for an inbox that keeps each event's occurred_at (prunable by age).

    Takes the asyncpg connection of a hot path that runs its own transaction.
    """
    by_id = dict(events)
    if not by_id:
        return set()
    rows = await db.fetch(_CLAIM_TIMED_SQL, list(by_id), list(by_id.values()))
    return {row[0] for row in rows}


async def prune_events_before(conn: AsyncConnection, before: datetime, *, limit: int = 10_000) -> int:
    """Forget up to `limit` ids of events that occurred before `before`; return how many."""
    result = await conn.execute(_PRUNE, {"before": before, "limit": limit})
    return int(result.rowcount or 0)


async def claim_fresh(conn: AsyncConnection, deliveries: Sequence[Delivery]) -> tuple[list[Event], set[UUID]]:
    """Claim a batch in the inbox: the events never applied before (batch order kept) and the duplicates.

    A second copy of an event inside the same batch is a duplicate too.
    """
    new_ids = await claim_new_events(conn, (d.event.event_id for d in deliveries))
    return split_fresh(deliveries, new_ids)


async def claim_fresh_timed(
    db: asyncpg.Connection,
    deliveries: Sequence[Delivery],
    *,
    remembered_from: Callable[[Event], datetime] | None = None,
) -> tuple[list[Event], set[UUID]]:
    """`claim_fresh` on an asyncpg connection, keeping a time per id that `prune_events_before` compares.

    The time is each event's occurred_at, or what `remembered_from(event)` says (the admission rule's
    `remembered_from`: a state fact admitted at any age is remembered from when it was applied).
    """
    time_of = remembered_from or _occurred_at
    new_ids = await claim_new_timed_events(db, ((d.event.event_id, time_of(d.event)) for d in deliveries))
    return split_fresh(deliveries, new_ids)


def _occurred_at(event: Event) -> datetime:
    return event.occurred_at


def split_fresh(deliveries: Sequence[Delivery], new_ids: set[UUID]) -> tuple[list[Event], set[UUID]]:
    """Fresh events in batch order (each once) and the ids of the duplicates."""
    fresh: list[Event] = []
    duplicates: set[UUID] = set()
    for delivery in deliveries:
        event_id = delivery.event.event_id
        if event_id in new_ids:
            new_ids.discard(event_id)
            fresh.append(delivery.event)
        else:
            duplicates.add(event_id)
    return fresh, duplicates


def newest_per_customer(
    events: Iterable[E], *, customer: Callable[[E], str], version: Callable[[E], int]
) -> dict[str, E]:
    """Keep, per customer, only the event with the highest version (coalescing a batch)."""
    newest: dict[str, E] = {}
    for event in events:
        key = customer(event)
        held = newest.get(key)
        if held is None or version(event) > version(held):
            newest[key] = event
    return newest
