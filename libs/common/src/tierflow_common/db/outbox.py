"""The transactional outbox: output messages commit with the state and are published after it.

One owner per row set: whoever publishes a row first locks, in id order, every outbox row of the
same keys up to it (`FOR UPDATE`, waiting for a replica still publishing them), sends them oldest
first, and deletes them in the same transaction. A row is therefore published by one process at a
time (a replica's recovery never re-sends what another is publishing), and a customer's messages
leave in the order they were committed, whichever replica, sweeper or API staged them. A process
that dies releases its locks with its connection; its rows go out with the next publication of the
same keys or the next recovery.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tierflow_common.kafka.producer import EventProducer
from tierflow_common.metrics import OUTBOX_PENDING, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)

_STAGE = text(
    "INSERT INTO outbox (topic, key, value) "
    "SELECT * FROM unnest(CAST(:topics AS text[]), CAST(:keys AS bytea[]), CAST(:vals AS bytea[])) "
    "RETURNING id"
)
_STAGE_RAW = (
    "INSERT INTO outbox (topic, key, value) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) RETURNING id"
)
_DELETE = text("DELETE FROM outbox WHERE id = ANY(CAST(:ids AS bigint[]))")
_NEWEST = text("SELECT max(id) FROM outbox")
_OLDEST = text("SELECT id, key FROM outbox WHERE id <= :ceiling ORDER BY id LIMIT :limit")
# The rows of these keys up to max_id, oldest first, locked in id order (so publishers never deadlock);
# the values of rows the caller already holds in memory are not read back.
_LOCK_KEYS = text(
    "SELECT id, topic, key, CASE WHEN id = ANY(CAST(:known AS bigint[])) THEN NULL ELSE value END AS value "
    "FROM outbox WHERE id <= :max_id AND key = ANY(CAST(:keys AS bytea[])) ORDER BY id FOR UPDATE"
)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to publish: concrete topic, key (customer_id) and encoded value."""

    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class StagedMessages:
    """Messages staged in a transaction, with the outbox row ids to delete once published."""

    ids: list[int]
    messages: list[OutgoingMessage]


@dataclass
class OutboxTransaction:
    """A state transaction in progress: its connection, and the messages to publish after it commits."""

    connection: AsyncConnection
    messages: list[OutgoingMessage] = field(default_factory=list)

    def add(self, message: OutgoingMessage) -> None:
        self.messages.append(message)


class OutboxMode(Enum):
    """What an outbox does with the messages of a committed transaction."""

    PUBLISH = "publish"
    """Stage them in the transaction, publish them after the commit, recover leftovers (every worker)."""
    STAGE_ONLY = "stage_only"
    """Stage them; another process publishes them (the routing API's decisions, sent by the worker's sweep)."""
    DISCARD = "discard"
    """Neither stage nor publish them (a rebuild into a shadow schema that was not asked to publish)."""


class Outbox:
    """Stages messages inside the state transaction and publishes them once it has committed."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        producer: EventProducer | None,
        mode: OutboxMode = OutboxMode.PUBLISH,
    ) -> None:
        if mode is OutboxMode.PUBLISH and producer is None:
            raise ValueError("an outbox that publishes needs a producer")
        self._service = service
        self._engine = engine
        self._producer = producer if mode is OutboxMode.PUBLISH else None
        self._staging = mode is not OutboxMode.DISCARD
        self._publishing = mode is OutboxMode.PUBLISH
        self._needs_recovery = self._publishing

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[OutboxTransaction]:
        """One database transaction whose added messages are staged in it and published after commit.

        Leftovers of an earlier failed publish go out first, so per-customer order holds.
        """
        await self.recover_if_needed()
        async with self._engine.begin() as conn:
            tx = OutboxTransaction(conn)
            yield tx
            staged = await self.stage(conn, tx.messages)
        await self.publish(staged)

    async def stage(self, conn: AsyncConnection, messages: Sequence[OutgoingMessage]) -> StagedMessages:
        """Insert messages into the outbox as part of the caller's transaction."""
        if not messages or not self._staging:
            return StagedMessages([], [])
        result = await conn.execute(
            _STAGE,
            {
                "topics": [m.topic for m in messages],
                "keys": [m.key for m in messages],
                "vals": [m.value for m in messages],
            },
        )
        return StagedMessages([row[0] for row in result], list(messages))

    async def stage_raw(self, db: asyncpg.Connection, messages: Sequence[OutgoingMessage]) -> StagedMessages:
        """Insert messages into the outbox inside a hot path's own asyncpg transaction (one statement)."""
        if not messages or not self._staging:
            return StagedMessages([], [])
        rows = await db.fetch(
            _STAGE_RAW, [m.topic for m in messages], [m.key for m in messages], [m.value for m in messages]
        )
        return StagedMessages([row[0] for row in rows], list(messages))

    async def publish(self, staged: StagedMessages) -> None:
        """Send committed messages (after older ones of the same keys), wait for the broker's acks, forget them."""
        if not staged.messages or self._producer is None or not staged.ids:
            return
        known = dict(zip(staged.ids, staged.messages, strict=True))
        async with self._engine.begin() as conn:
            await self._publish_keys(conn, max_id=max(staged.ids), keys={m.key for m in staged.messages}, known=known)

    async def recover(self, *, batch: int = 1000) -> int:
        """Publish rows left by a crash, a failed publish or a process that only stages; return how many.

        Rows staged after the recovery started are their stagers' to publish; rows another replica is
        publishing are waited for (then found gone), never sent twice.
        """
        if self._producer is None or not self._publishing:
            return 0
        total = 0
        async with self._engine.connect() as conn:
            ceiling = (await conn.execute(_NEWEST)).scalar()
        while ceiling is not None:
            async with self._engine.begin() as conn:
                oldest = (await conn.execute(_OLDEST, {"ceiling": ceiling, "limit": batch})).all()
                if not oldest:
                    break
                total += await self._publish_keys(conn, max_id=oldest[-1].id, keys={bytes(r.key) for r in oldest})
        self._needs_recovery = False
        OUTBOX_PENDING.labels(self._service).set(total)
        if total:
            log.info("outbox recovered", extra={"published": total})
        return total

    async def _publish_keys(
        self,
        conn: AsyncConnection,
        *,
        max_id: int,
        keys: set[bytes],
        known: dict[int, OutgoingMessage] | None = None,
    ) -> int:
        """In the caller's transaction: lock the keys' rows up to max_id, send them oldest first, delete them."""
        assert self._producer is not None
        known = known or {}
        rows = (await conn.execute(_LOCK_KEYS, {"max_id": max_id, "keys": sorted(keys), "known": list(known)})).all()
        if not rows:
            return 0
        messages = [
            known[r.id] if r.value is None else OutgoingMessage(topic=r.topic, key=bytes(r.key), value=bytes(r.value))
            for r in rows
        ]
        try:
            await self._producer.send_all(messages)
        except BaseException:
            # The rows stay in the outbox (the transaction rolls back and unlocks them); the next batch,
            # the next owner or another publication of the same keys sends them.
            self._needs_recovery = True
            raise
        await conn.execute(_DELETE, {"ids": [r.id for r in rows]})
        self._count(messages)
        return len(rows)

    async def recover_if_needed(self) -> None:
        """Recover only after a start, a rebalance or a failed publish."""
        if self._needs_recovery:
            await self.recover()

    def _count(self, messages: Sequence[OutgoingMessage]) -> None:
        for message in messages:
            OUTBOX_PUBLISHED.labels(self._service, message.topic).inc()
