"""The one consumer loop on the real broker and PostgreSQL: commit after durable effects, DLQ, dedupe.

The profile service is the batch processor here: it is the real consumer of the input topics.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine
from tierflow_common.db.outbox import Outbox, OutgoingMessage
from tierflow_common.events import decode_event, encode_event, topics
from tierflow_common.kafka.delivery import Delivery
from tierflow_common.kafka.producer import EventProducer
from tierflow_common.wiring import consumer_loop, pipeline_parts, service_runtime
from tierflow_profile.adapters.profiles import PROFILES
from tierflow_profile.bootstrap import MIGRATIONS_DIR, build
from tierflow_profile.service import ProfileService
from tierflow_profile.settings import ProfileSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import committed_offsets, produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, migrate, running

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def settings(ns: Namespace) -> ProfileSettings:
    settings = ns.settings(ProfileSettings, "profile", max_attempts=3)
    await migrate(settings, MIGRATIONS_DIR)
    return settings


@pytest.fixture
async def engine(settings: ProfileSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="test"
    )
    yield engine
    await engine.dispose()


async def trades_of(engine: AsyncEngine, customer_id: str) -> int | None:
    async with engine.connect() as conn:
        profile = await PROFILES.get(conn, customer_id)
    return None if profile is None else profile.trades_total


def runtime_with(settings: ProfileSettings, service_cls: type[ProfileService]):  # type: ignore[no-untyped-def]
    """The profile runtime, with a different batch processor class (to inject failures)."""
    parts = pipeline_parts("profile", settings)
    service = service_cls(engine=parts.engine, outbox=parts.outbox, topics=parts.topics, clock=parts.clock)
    return service_runtime(parts, consumer_loop(parts, subscribe=topics.INPUT_TOPICS, processor=service))


async def test_a_malformed_message_is_dead_lettered_and_its_neighbours_processed(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    float_money = orjson.loads(encode_event(b.trade("C1", NOW)))
    float_money["payload"]["commission"] = 5.5
    await produce(
        ns.infra.kafka_bootstrap,
        trade_topic,
        [
            b.trade("C1", NOW - timedelta(minutes=3)),
            (b"C1", b'{"event_id": "truncated'),
            (b"C1", orjson.dumps(float_money)),
            b.trade("C1", NOW - timedelta(minutes=1)),
        ],
    )
    async with running(build(settings)):
        await wait_until(lambda: _equals(trades_of(engine, "C1"), 2), what="both valid trades applied")
        dead = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=2)
        await wait_until(
            lambda: _all_committed(ns, settings.consumer_group, trade_topic, total=4), what="offsets committed"
        )
    assert len(dead) == 2
    reasons = sorted(dict(m.headers)["tierflow.error"].decode() for m in dead)
    assert "Invalid JSON" in reasons[0]
    assert "payload.commission: Value error, must be a decimal string" in reasons[1]
    for message in dead:
        headers = dict(message.headers)
        assert headers["tierflow.origin.topic"] == trade_topic.encode()
        assert headers["tierflow.error.kind"] == b"contract"
        assert int(headers["tierflow.origin.offset"]) in (1, 2)
        assert headers["tierflow.consumer.group"] == settings.consumer_group.encode()
        assert message.key == b"C1"  # the original bytes are kept for replay after a fix


class FailsInsideTheTransaction(ProfileService):
    """Applies the batch, then the database connection "drops" before the commit."""

    async def _write(self, db, profiles, now):  # type: ignore[no-untyped-def]
        await super()._write(db, profiles, now)
        raise ConnectionResetError("database connection lost mid-batch")


async def test_a_failure_inside_a_batch_leaves_the_offset_uncommitted(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    await produce(ns.infra.kafka_bootstrap, trade_topic, [b.trade("C1", NOW), b.trade("C2", NOW), b.trade("C1", NOW)])
    async with running(runtime_with(settings, FailsInsideTheTransaction)) as runtime:
        await wait_until(lambda: _failed_attempts(runtime.name, at_least=3), what="the batch to be retried")
    # The loop kept retrying (a dependency failure never blames the events), then drained on stop.
    offsets = await committed_offsets(ns.infra.kafka_bootstrap, settings.consumer_group, trade_topic)
    assert all(offset in (None, 0) for offset in offsets.values()), offsets
    assert await trades_of(engine, "C1") is None
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM processed_events"))).scalar_one() == 0
    # A healthy process picks the same events up from the committed position, exactly once.
    async with running(build(settings)):
        await wait_until(lambda: _equals(trades_of(engine, "C1"), 2), what="redelivered batch applied")
        await wait_until(lambda: _all_committed(ns, settings.consumer_group, trade_topic, total=3), what="commit")
    assert await trades_of(engine, "C2") == 1


POISON = uuid.UUID("00000000-0000-4000-8000-00000000dead")


class PoisonedBy(ProfileService):
    """Fails (as a bug would) on one particular event, whatever batch it is in."""

    async def process(self, deliveries: Sequence[Delivery]) -> Collection[uuid.UUID]:
        if any(d.event.event_id == POISON for d in deliveries):
            raise ValueError("cannot process this event")
        return await super().process(deliveries)


async def test_a_poison_event_is_isolated_retried_and_dead_lettered_alone(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    batch = [b.trade("C1", NOW), b.trade("C1", NOW, event_id=POISON), b.trade("C1", NOW), b.trade("C2", NOW)]
    await produce(ns.infra.kafka_bootstrap, trade_topic, batch)
    async with running(runtime_with(settings, PoisonedBy)):
        dead = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=1)
        await wait_until(lambda: _equals(trades_of(engine, "C1"), 2), what="the good events around the poison")
        await wait_until(lambda: _all_committed(ns, settings.consumer_group, trade_topic, total=4), what="commit")
    assert await trades_of(engine, "C2") == 1
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["tierflow.error.kind"] == b"processing"
    assert headers["tierflow.error.attempts"] == b"3"
    assert headers["tierflow.error"].startswith(b"ValueError: cannot process this event")
    assert decode_event(dead[0].value, key=dead[0].key, base_topic=topics.TRADE).event_id == POISON


async def test_a_redelivered_event_does_not_change_counts(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    once = b.trade("C1", NOW, commission="7.00")
    await produce(ns.infra.kafka_bootstrap, trade_topic, [once, once, b.trade("C1", NOW, commission="3.00"), once])
    async with running(build(settings)):
        await wait_until(lambda: _all_committed(ns, settings.consumer_group, trade_topic, total=4), what="commit")
    assert await trades_of(engine, "C1") == 2
    # Everything again, as after a lost commit or a rebalance: a new group re-reads the topic.
    replay = settings.model_copy(update={"consumer_group": settings.consumer_group + "-replay"})
    async with running(build(replay)):
        await wait_until(lambda: _all_committed(ns, replay.consumer_group, trade_topic, total=4), what="replay")
    async with engine.connect() as conn:
        profile = await PROFILES.get(conn, "C1")
    assert profile is not None
    assert (profile.trades_total, str(profile.commission_total), profile.version) == (2, "10.00", 1)


async def test_outbox_rows_left_by_a_crash_are_published_on_recovery(ns: Namespace, engine: AsyncEngine) -> None:
    producer = EventProducer({"bootstrap_servers": ns.infra.kafka_bootstrap})
    await producer.start()
    try:
        outbox = Outbox(service="test", engine=engine, producer=producer)
        topic = ns.topics.name(topics.PROFILE)
        async with engine.begin() as conn:  # committed, then "crashed" before publishing
            await outbox.stage(conn, [OutgoingMessage(topic, b"C1", b"one"), OutgoingMessage(topic, b"C1", b"two")])
        assert await outbox.recover() == 2
        assert await outbox.recover() == 0
    finally:
        await producer.stop()
    published = await read_topic(ns.infra.kafka_bootstrap, topic, min_count=2)
    assert [m.value for m in published] == [b"one", b"two"]  # in order, once


async def _equals(value_coro, expected) -> bool:  # type: ignore[no-untyped-def]
    return (await value_coro) == expected


async def _all_committed(ns: Namespace, group: str, topic: str, *, total: int) -> bool:
    offsets = await committed_offsets(ns.infra.kafka_bootstrap, group, topic)
    return sum(o or 0 for o in offsets.values()) == total


async def _failed_attempts(service: str, *, at_least: int) -> bool:
    from prometheus_client import REGISTRY

    value = sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "tierflow_events_failed"
        for sample in metric.samples
        if sample.name == "tierflow_events_failed_total"
        and sample.labels.get("service") == service
        and sample.labels.get("error") == "ConnectionResetError"
    )
    return value >= at_least
