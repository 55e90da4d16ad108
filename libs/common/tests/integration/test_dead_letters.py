"""Dead letters on the real broker: a message near the size limit and a broker hiccup never stop the loop.

The profile service is the batch processor, as in test_consumer_loop.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine
from tierflow_common.events import encode_event, topics
from tierflow_common.kafka.producer import Headers
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
    settings = ns.settings(ProfileSettings, "profile")
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


async def committed_total(ns: Namespace, group: str, topic: str) -> int:
    offsets = await committed_offsets(ns.infra.kafka_bootstrap, group, topic)
    return sum(o or 0 for o in offsets.values())


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_message_near_one_mebibyte_is_dead_lettered_cut_to_fit_and_the_loop_goes_on(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    oversized = orjson.loads(encode_event(b.trade("C1", NOW)))
    oversized["payload"]["instrument"] = ""
    # Valid JSON the contract refuses (an instrument has 32 characters at most), 1 MiB less 276 bytes: the
    # producer and the broker take it, but it plus the dead-letter headers exceeds the 1 MiB request size.
    oversized["payload"]["instrument"] = "X" * (1_048_300 - len(orjson.dumps(oversized)))
    value = orjson.dumps(oversized)
    assert len(value) == 1_048_300
    await produce(
        ns.infra.kafka_bootstrap,
        trade_topic,
        [b.trade("C1", NOW - timedelta(minutes=2)), (b"C1", value), b.trade("C1", NOW - timedelta(minutes=1))],
    )
    async with running(build(settings)) as runtime:
        await wait_until(lambda: _equals(trades_of(engine, "C1"), 2), what="the trades around the big message")
        dead = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=1)
        await wait_until(
            lambda: _equals(committed_total(ns, settings.consumer_group, trade_topic), 3), what="offsets committed"
        )
        assert runtime.loop.running  # the loop never stopped: no crash, no restart
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["tierflow.error.kind"] == b"contract"
    assert b"instrument" in headers["tierflow.error"]
    assert headers["tierflow.truncated"] == b"value"
    assert int(headers["tierflow.original.size"]) == len(value)
    assert int(headers["tierflow.origin.offset"]) == 1
    assert headers["tierflow.origin.topic"] == trade_topic.encode()
    assert dead[0].key == b"C1"
    assert 0 < len(dead[0].value) < len(value) and value.startswith(dead[0].value)  # a prefix of the original
    assert sample("tierflow_dead_letters_truncated_total", service="profile") >= 1


async def test_a_broker_hiccup_while_dead_lettering_waits_and_sends_once(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    dead_letter_topic = ns.topics.name(topics.DEAD_LETTER)
    parts = pipeline_parts("profile", settings)
    service = ProfileService(engine=parts.engine, outbox=parts.outbox, topics=parts.topics, clock=parts.clock)
    runtime = service_runtime(parts, consumer_loop(parts, subscribe=topics.INPUT_TOPICS, processor=service))
    hiccups = 4
    refused = 0
    ready_while_refused: list[bool] = []
    send = parts.producer.send

    async def sends_failing_first(topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None):  # type: ignore[no-untyped-def]
        nonlocal refused
        if topic == dead_letter_topic and refused < hiccups:
            if refused:
                ready_while_refused.append(await ready(runtime.checks["consumer"]))
            refused += 1
            raise KafkaConnectionError("broker hiccup")
        await send(topic, key, value, headers)

    parts.producer.send = sends_failing_first  # type: ignore[method-assign]
    waits_before = sample("tierflow_consumer_waits_total", service="profile", error="KafkaConnectionError")
    await produce(
        ns.infra.kafka_bootstrap,
        trade_topic,
        [b.trade("C1", NOW - timedelta(minutes=2)), (b"C1", b"{not json"), b.trade("C1", NOW - timedelta(minutes=1))],
    )
    async with running(runtime):
        await wait_until(lambda: _equals(trades_of(engine, "C1"), 2), what="the trades around the bad message")
        await wait_until(
            lambda: _equals(committed_total(ns, settings.consumer_group, trade_topic), 3), what="offsets committed"
        )
        assert await ready(runtime.checks["consumer"])  # green again once the dead letter went out
    assert ready_while_refused == [False] * (hiccups - 1)  # red from the first failure on
    dead = await read_topic(ns.infra.kafka_bootstrap, dead_letter_topic, min_count=1)
    assert refused == hiccups
    assert len(dead) == 1  # waited out, sent once, never skipped
    assert dict(dead[0].headers)["tierflow.error.kind"] == b"contract"
    assert sample("tierflow_consumer_waits_total", service="profile", error="KafkaConnectionError") == (
        waits_before + hiccups
    )


async def ready(check: Callable[[], Awaitable[None]]) -> bool:
    try:
        await check()
    except Exception:
        return False
    return True


async def _equals(value_coro, expected) -> bool:  # type: ignore[no-untyped-def]
    return (await value_coro) == expected
