"""The transactional outbox: output messages commit with the state and are published after it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum

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
_DELETE = text("DELETE FROM outbox WHERE id = ANY(CAST(:ids AS bigint[]))")
_CLAIM_LEFTOVERS = text("SELECT id, topic, key, value FROM outbox ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED")


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

    async def publish(self, staged: StagedMessages) -> None:
        """Send committed messages, wait for the broker's acks, then forget them."""
        if not staged.messages or self._producer is None:
            return
        try:
            await self._producer.send_all(staged.messages)
        except BaseException:
            # The rows stay in the outbox; the next batch (or the next owner) publishes them.
            self._needs_recovery = True
            raise
        self._count(staged.messages)
        async with self._engine.begin() as conn:
            await conn.execute(_DELETE, {"ids": staged.ids})

    async def recover(self, *, batch: int = 1000) -> int:
        """Publish rows left by a crash or a failed publish, oldest first; return how many."""
        if self._producer is None or not self._publishing:
            return 0
        total = 0
        while True:
            async with self._engine.begin() as conn:
                rows = (await conn.execute(_CLAIM_LEFTOVERS, {"limit": batch})).all()
                if not rows:
                    break
                messages = [OutgoingMessage(topic=r.topic, key=bytes(r.key), value=bytes(r.value)) for r in rows]
                await self._producer.send_all(messages)
                await conn.execute(_DELETE, {"ids": [r.id for r in rows]})
            self._count(messages)
            total += len(rows)
        self._needs_recovery = False
        OUTBOX_PENDING.labels(self._service).set(total)
        if total:
            log.info("outbox recovered", extra={"published": total})
        return total

    async def recover_if_needed(self) -> None:
        """Recover only after a start, a rebalance or a failed publish."""
        if self._needs_recovery:
            await self.recover()

    def _count(self, messages: Sequence[OutgoingMessage]) -> None:
        for message in messages:
            OUTBOX_PUBLISHED.labels(self._service, message.topic).inc()
