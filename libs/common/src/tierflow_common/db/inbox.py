"""The inbox: which event ids already had their effects committed (effectively-once), and with what content.

Each id is kept with the content hash of the copy that was applied (`tierflow_common.events.content`:
SHA-256 of the message value's canonical JSON). A later copy with the same id is a **duplicate** when
its hash is the same, and changes nothing; it is a **conflict** when the hash differs: the first
applied copy stands, the other is not applied and is reported for the dead-letter topic (kind
`conflict`). An id stored before the hash was kept (a null hash, from a database migrated with rows)
has unknown content: a copy of it is treated as a plain duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.codec import encode_event
from tierflow_common.events.content import CONTENT_HASH_NAME, content_hash

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tierflow_common.events.envelope import Event
    from tierflow_common.kafka.delivery import Delivery

E = TypeVar("E")

_CLAIM = text(
    "INSERT INTO processed_events (event_id, content_hash) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:hashes AS bytea[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_HELD = text("SELECT event_id, content_hash FROM processed_events WHERE event_id = ANY(CAST(:ids AS uuid[]))")
_CLAIM_TIMED_SQL = (
    "INSERT INTO processed_events (event_id, occurred_at, content_hash) "
    "SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::bytea[]) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
_HELD_SQL = "SELECT event_id, content_hash FROM processed_events WHERE event_id = ANY($1::uuid[])"
_PRUNE = text(
    "DELETE FROM processed_events WHERE event_id IN "
    "(SELECT event_id FROM processed_events WHERE occurred_at < :before LIMIT :limit)"
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A batch claimed in the inbox: what to apply, what was applied before, what contradicts it.

    `fresh`: events never applied, in batch order, each once. `duplicates`: ids applied before with
    the same (or unknown) content. `conflicts`: ids applied before with other content, with the
    reason for the dead-letter topic (`BatchOutcome.conflicts`).
    """

    fresh: list[Event] = field(default_factory=list)
    duplicates: set[UUID] = field(default_factory=set)
    conflicts: dict[UUID, str] = field(default_factory=dict)


def delivery_hash(delivery: Delivery) -> bytes:
    """The content hash of a delivered event: of its bytes as received (of its encoding if none were kept)."""
    return content_hash(delivery.value if delivery.value is not None else encode_event(delivery.event))


async def claim_fresh(conn: AsyncConnection, deliveries: Sequence[Delivery]) -> Claim:
    """Claim a batch in the inbox, in the caller's transaction (a second copy in the batch is a duplicate too).

    One statement records the new ids with their hashes; only when some id was there already does a
    second one read the hashes held (a fresh snapshot, so a copy another replica just committed is
    seen too).
    """
    hashes = [delivery_hash(d) for d in deliveries]
    first = _first_copies(deliveries, hashes)
    if not first:
        return Claim()
    result = await conn.execute(_CLAIM, {"ids": list(first), "hashes": list(first.values())})
    new_ids = {row[0] for row in result}
    held: dict[UUID, bytes | None] = {}
    if len(new_ids) < len(first):
        rows = await conn.execute(_HELD, {"ids": [i for i in first if i not in new_ids]})
        held = {row[0]: row[1] for row in rows}
    return split_claim(deliveries, hashes, new_ids, held)


async def claim_fresh_timed(
    db: asyncpg.Connection,
    deliveries: Sequence[Delivery],
    *,
    remembered_from: Callable[[Event], datetime] | None = None,
) -> Claim:
    """`claim_fresh` on an asyncpg connection, keeping a time per id that `prune_events_before` compares.

    The time is each event's occurred_at, or what `remembered_from(event)` says (the admission rule's
    `remembered_from`: a state fact admitted at any age is remembered from when it was applied).
    Takes the asyncpg connection of a hot path that runs its own transaction.
    """
    hashes = [delivery_hash(d) for d in deliveries]
    first = _first_copies(deliveries, hashes)
    if not first:
        return Claim()
    time_of = remembered_from or _occurred_at
    times: dict[UUID, datetime] = {}
    for delivery in deliveries:
        if delivery.event.event_id not in times:
            times[delivery.event.event_id] = time_of(delivery.event)
    rows = await db.fetch(_CLAIM_TIMED_SQL, list(first), [times[i] for i in first], list(first.values()))
    new_ids = {row[0] for row in rows}
    held: dict[UUID, bytes | None] = {}
    if len(new_ids) < len(first):
        found = await db.fetch(_HELD_SQL, [i for i in first if i not in new_ids])
        held = {row[0]: row[1] for row in found}
    return split_claim(deliveries, hashes, new_ids, held)


async def prune_events_before(conn: AsyncConnection, before: datetime, *, limit: int = 10_000) -> int:
    """Forget up to `limit` ids remembered from before `before` (their occurred_at, or `remembered_from`)."""
    result = await conn.execute(_PRUNE, {"before": before, "limit": limit})
    return int(result.rowcount or 0)


def split_claim(
    deliveries: Sequence[Delivery],
    hashes: Sequence[bytes],
    new_ids: set[UUID],
    held: Mapping[UUID, bytes | None],
) -> Claim:
    """Fresh events in batch order (each once), duplicates, and conflicts with their reasons.

    `new_ids` were claimed by this batch (its first copy of each is applied); `held` are the hashes
    stored for the others (None: stored before hashes were kept, so a plain duplicate).
    """
    claim = Claim()
    applied: dict[UUID, tuple[bytes, Delivery]] = {}
    for delivery, digest in zip(deliveries, hashes, strict=True):
        event_id = delivery.event.event_id
        if event_id in new_ids and event_id not in applied:
            applied[event_id] = (digest, delivery)
            claim.fresh.append(delivery.event)
            continue
        known: bytes | None
        if event_id in applied:
            known, first = applied[event_id]
            where = f"earlier in this batch, at {_origin(first)}"
        else:
            known, where = held.get(event_id), "before"
        if known is None or known == digest:
            claim.duplicates.add(event_id)
        else:
            claim.conflicts[event_id] = conflict_reason(delivery, digest, known, applied_where=where)
    return claim


def conflict_reason(delivery: Delivery, digest: bytes, known: bytes, *, applied_where: str) -> str:
    """Why a copy is refused: its id was applied with other content (the reason names the copy: the
    loop dead-letters by event_id, so with two copies in one batch the message may be the other one)."""
    return (
        f"event_id was applied {applied_where} with other content "
        f"({CONTENT_HASH_NAME} {known.hex()[:16]}...); the copy at {_origin(delivery)} has "
        f"{CONTENT_HASH_NAME} {digest.hex()[:16]}... and is not applied: the first stands, "
        "send a correction under a new event_id"
    )


def _origin(delivery: Delivery) -> str:
    return f"{delivery.topic}[{delivery.partition}]@{delivery.offset}"


def _first_copies(deliveries: Sequence[Delivery], hashes: Sequence[bytes]) -> dict[UUID, bytes]:
    """Each id once, with the hash of its first copy in the batch."""
    first: dict[UUID, bytes] = {}
    for delivery, digest in zip(deliveries, hashes, strict=True):
        first.setdefault(delivery.event.event_id, digest)
    return first


def _occurred_at(event: Event) -> datetime:
    return event.occurred_at


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
