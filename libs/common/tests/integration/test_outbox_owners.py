"""Two outbox owners (two replicas of one service) on the real broker and PostgreSQL: a row is published
by one of them at a time, and a customer's messages leave in the order they were committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine
from tierflow_common.db.outbox import Outbox, OutgoingMessage
from tierflow_common.events import topics
from tierflow_common.kafka.producer import EventProducer, Message
from tierflow_profile.bootstrap import MIGRATIONS_DIR
from tierflow_profile.settings import ProfileSettings
from tierflow_testing.kafka import read_topic
from tierflow_testing.plugin import Namespace, migrate

pytestmark = pytest.mark.integration


class HeldProducer(EventProducer):
    """A producer whose sends wait until released: a replica caught in the middle of publishing."""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.sending = asyncio.Event()
        self.release = asyncio.Event()

    async def send_all(self, messages: Sequence[Message]) -> None:
        self.sending.set()
        await self.release.wait()
        await super().send_all(messages)


@pytest.fixture
async def settings(ns: Namespace) -> ProfileSettings:
    settings = ns.settings(ProfileSettings, "profile")
    await migrate(settings, MIGRATIONS_DIR)
    return settings


@pytest.fixture
async def engines(settings: ProfileSettings) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    url = settings.infra.database_url.get_secret_value()
    first = create_engine(url, schema=settings.db_schema, application_name="replica-a")
    second = create_engine(url, schema=settings.db_schema, application_name="replica-b")
    yield first, second
    await first.dispose()
    await second.dispose()


@pytest.fixture
async def producers(ns: Namespace) -> AsyncIterator[tuple[HeldProducer, EventProducer]]:
    held = HeldProducer({"bootstrap_servers": ns.infra.kafka_bootstrap})
    plain = EventProducer({"bootstrap_servers": ns.infra.kafka_bootstrap})
    await held.start()
    await plain.start()
    yield held, plain
    held.release.set()
    await held.stop()
    await plain.stop()


async def started(*replicas: Outbox) -> None:
    """Each replica's recovery after its start is done (nothing was left): publishing is now its own."""
    for replica in replicas:
        assert await replica.recover() == 0


async def stage_and_publish(outbox: Outbox, messages: list[OutgoingMessage]) -> None:
    async with outbox.transaction() as tx:
        for message in messages:
            tx.add(message)


async def test_rows_another_replica_is_still_publishing_are_not_recovered_and_sent_again(
    ns: Namespace, engines: tuple[AsyncEngine, AsyncEngine], producers: tuple[HeldProducer, EventProducer]
) -> None:
    topic = ns.topics.name(topics.ROUTING)
    held, plain = producers
    replica_a = Outbox(service="routing", engine=engines[0], producer=held)
    replica_b = Outbox(service="routing", engine=engines[1], producer=plain)
    messages = [OutgoingMessage(topic, b"C1", b"C1 v1"), OutgoingMessage(topic, b"C2", b"C2 v1")]
    await started(replica_a, replica_b)

    publishing = asyncio.create_task(stage_and_publish(replica_a, messages))
    await asyncio.wait_for(held.sending.wait(), 10)  # A committed and is sending
    recovery = asyncio.create_task(replica_b.recover())  # B's periodic recovery runs meanwhile
    await asyncio.sleep(1.0)
    held.release.set()
    await asyncio.wait_for(publishing, 10)
    recovered = await asyncio.wait_for(recovery, 10)

    assert recovered == 0  # B waited for A's rows and found them published
    published = await read_topic(ns.infra.kafka_bootstrap, topic, min_count=2, timeout_s=5)
    assert sorted(m.value for m in published) == [b"C1 v1", b"C2 v1"]  # once each


async def test_a_customer_s_messages_leave_in_commit_order_across_replicas(
    ns: Namespace, engines: tuple[AsyncEngine, AsyncEngine], producers: tuple[HeldProducer, EventProducer]
) -> None:
    topic = ns.topics.name(topics.ROUTING)
    held, plain = producers
    replica_a = Outbox(service="routing", engine=engines[0], producer=held)
    replica_b = Outbox(service="routing", engine=engines[1], producer=plain)
    await started(replica_a, replica_b)

    # A's sweeper decided version 1 of C1 and is still sending it when B's worker decides version 2.
    publishing = asyncio.create_task(stage_and_publish(replica_a, [OutgoingMessage(topic, b"C1", b"C1 v1")]))
    await asyncio.wait_for(held.sending.wait(), 10)
    second = asyncio.create_task(stage_and_publish(replica_b, [OutgoingMessage(topic, b"C1", b"C1 v2")]))
    await asyncio.sleep(1.0)
    held.release.set()
    await asyncio.wait_for(asyncio.gather(publishing, second), 10)

    published = await read_topic(ns.infra.kafka_bootstrap, topic, min_count=2, timeout_s=5)
    assert [m.value for m in published] == [b"C1 v1", b"C1 v2"]


async def test_a_leftover_row_goes_out_before_a_newer_message_of_its_customer(
    ns: Namespace, engines: tuple[AsyncEngine, AsyncEngine], producers: tuple[HeldProducer, EventProducer]
) -> None:
    topic = ns.topics.name(topics.ROUTING)
    _, plain = producers
    replica_a = Outbox(service="routing", engine=engines[0], producer=plain)
    replica_b = Outbox(service="routing", engine=engines[1], producer=plain)
    await started(replica_a, replica_b)
    async with engines[0].begin() as conn:  # A committed version 1 of C1 and died before publishing it
        await replica_a.stage(conn, [OutgoingMessage(topic, b"C1", b"C1 v1")])

    await stage_and_publish(replica_b, [OutgoingMessage(topic, b"C1", b"C1 v2"), OutgoingMessage(topic, b"C2", b"x")])
    assert await replica_a.recover() == 0  # nothing left: B sent the leftover first

    published = await read_topic(ns.infra.kafka_bootstrap, topic, min_count=3, timeout_s=5)
    assert [m.value for m in published if m.key == b"C1"] == [b"C1 v1", b"C1 v2"]
    assert [m.value for m in published if m.key == b"C2"] == [b"x"]
