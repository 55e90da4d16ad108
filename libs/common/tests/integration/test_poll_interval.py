"""Isolating a failing batch event by event takes longer than max.poll.interval.ms: the loop still keeps
its partitions, advances them, and dead-letters each poison event exactly once.

The profile service is the batch processor, made slow to fail: every attempt takes a while, and a
batch holding a poison event fails (as a statement timing out on a bad row would).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine
from tierflow_common.events import decode_event, topics
from tierflow_common.kafka.delivery import BatchOutcome, Delivery
from tierflow_common.wiring import consumer_loop, pipeline_parts, service_runtime
from tierflow_profile.adapters.profiles import PROFILES
from tierflow_profile.bootstrap import MIGRATIONS_DIR
from tierflow_profile.service import ProfileService
from tierflow_profile.settings import ProfileSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import committed_offsets, produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, migrate, running

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
ATTEMPT_S = 0.2
MAX_POLL_INTERVAL_MS = 3000
POISONS = {uuid.UUID("00000000-0000-4000-8000-00000000dea1"), uuid.UUID("00000000-0000-4000-8000-00000000dea2")}


class SlowToFail(ProfileService):
    """Every attempt takes ATTEMPT_S; a batch holding a poison event then fails."""

    async def process(self, deliveries: Sequence[Delivery]) -> BatchOutcome:
        await asyncio.sleep(ATTEMPT_S)
        if any(d.event.event_id in POISONS for d in deliveries):
            raise ValueError("cannot process this event")
        return await super().process(deliveries)


@pytest.fixture
async def settings(ns: Namespace) -> ProfileSettings:
    settings = ns.settings(ProfileSettings, "profile", max_attempts=3, max_poll_interval_ms=MAX_POLL_INTERVAL_MS)
    await migrate(settings, MIGRATIONS_DIR)
    return settings


@pytest.fixture
async def engine(settings: ProfileSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="test"
    )
    yield engine
    await engine.dispose()


async def test_isolation_longer_than_the_poll_interval_advances_and_dead_letters_each_poison_once(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    good = [b.trade("C1", NOW - timedelta(minutes=30 - i)) for i in range(22)]
    batch = [
        *good[:7],
        b.trade("C1", NOW, event_id=min(POISONS)),
        *good[7:15],
        b.trade("C1", NOW, event_id=max(POISONS)),
    ]
    batch += good[15:]
    # One partition (one key), one poll: isolating it takes about 22 + 2 * 3 attempts of ATTEMPT_S, twice the interval.
    assert (len(good) + 2 * settings.max_attempts) * ATTEMPT_S * 1000 > 1.5 * MAX_POLL_INTERVAL_MS
    await produce(ns.infra.kafka_bootstrap, trade_topic, batch)
    cut_before = _sample("tierflow_consumer_rounds_cut_short_total", service="profile")

    parts = pipeline_parts("profile", settings)
    service = SlowToFail(engine=parts.engine, outbox=parts.outbox, topics=parts.topics, clock=parts.clock)
    runtime = service_runtime(parts, consumer_loop(parts, subscribe=topics.INPUT_TOPICS, processor=service))

    async def advanced_to_the_end() -> bool:
        offsets = await committed_offsets(ns.infra.kafka_bootstrap, settings.consumer_group, trade_topic)
        return sum(o or 0 for o in offsets.values()) == len(batch)

    async with running(runtime):
        await wait_until(advanced_to_the_end, timeout_s=90, what="the partition to advance past the batch")
        async with engine.connect() as conn:
            profile = await PROFILES.get(conn, "C1")
        assert profile is not None and profile.trades_total == len(good)
        await asyncio.sleep(MAX_POLL_INTERVAL_MS / 1000)  # time for a repeat to show, were the batch re-read
    dead = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=2)
    dead_ids = [decode_event(m.value, key=m.key, base_topic=topics.TRADE).event_id for m in dead]
    assert sorted(dead_ids) == sorted(POISONS)  # each poison event exactly once, nothing else
    assert all(dict(m.headers)["tierflow.error.attempts"] == b"3" for m in dead)
    assert _sample("tierflow_consumer_rounds_cut_short_total", service="profile") > cut_before


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
