"""kill -9 and SIGTERM in the middle of a stream: nothing lost, nothing counted twice.

The profile service runs as a real process fed by the simulator's events (with producer
retries, i.e. duplicates). After the crash and a restart, every profile must equal what the
events imply, computed from scratch; and the last profile.v1 message per customer must carry
the stored version (outputs are not lost either).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine
from tierflow_common.events import decode_event, topics
from tierflow_common.kafka.producer import EventProducer
from tierflow_profile.adapters.profiles import PROFILES
from tierflow_profile.bootstrap import MIGRATIONS_DIR
from tierflow_profile.domain.profile import Profile
from tierflow_profile.domain.snapshot import settle, view
from tierflow_profile.handlers import HANDLERS
from tierflow_profile.settings import ProfileSettings
from tierflow_simulator.history import history
from tierflow_simulator.population import make_population
from tierflow_testing.kafka import read_topic, wait_until
from tierflow_testing.plugin import Namespace, migrate
from tierflow_testing.processes import kill_hard, start_service, terminate

pytestmark = pytest.mark.integration

EVENTS = 4000
CUSTOMERS = 150


@pytest.fixture
async def stream(ns: Namespace) -> list:  # type: ignore[type-arg]
    now = datetime.now(UTC)
    population = make_population(CUSTOMERS, seed=7, now=now)
    return history(population, total_events=EVENTS, now=now, seed=7, duplicate_rate=0.03)


@pytest.fixture
async def engine(ns: Namespace) -> AsyncIterator[AsyncEngine]:
    settings = ns.settings(ProfileSettings, "profile")
    await migrate(settings, MIGRATIONS_DIR)
    engine = create_engine(ns.infra.database_url, schema=settings.db_schema, application_name="crash-test")
    yield engine
    await engine.dispose()


def expected_profiles(stream: list, now: datetime) -> dict[str, Profile]:  # type: ignore[type-arg]
    """From scratch: every distinct event applied once, in a shuffled order, in one go."""
    unique = {e.event_id: e for e in stream}
    events = [decode_event(e.value, key=e.key, base_topic=e.topic) for e in unique.values()]
    random.Random(3).shuffle(events)
    profiles: dict[str, Profile] = {}
    for event in events:
        profile = profiles.get(event.customer_id)
        if profile is None:
            profile = profiles[event.customer_id] = Profile(customer_id=event.customer_id)
            settle(profile, now)
        HANDLERS[type(event)](profile, event)
    return profiles


async def processed_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM processed_events"))).scalar_one())


async def produce_slowly(ns: Namespace, stream: list) -> None:  # type: ignore[type-arg]
    producer = EventProducer({"bootstrap_servers": ns.infra.kafka_bootstrap})
    await producer.start()
    try:
        for start in range(0, len(stream), 100):
            chunk = stream[start : start + 100]
            await producer.send_all([_Routed(ns.topics.name(e.topic), e.key, e.value) for e in chunk])
            await asyncio.sleep(0.02)
    finally:
        await producer.stop()


class _Routed:
    __slots__ = ("key", "topic", "value")

    def __init__(self, topic: str, key: bytes, value: bytes) -> None:
        self.topic, self.key, self.value = topic, key, value


def profile_env(ns: Namespace) -> dict[str, str]:
    return {**ns.env("TIERFLOW_PROFILE_", "profile"), "TIERFLOW_PROFILE_BATCH_MAX_RECORDS": "50"}


async def assert_exact(ns: Namespace, engine: AsyncEngine, stream: list) -> None:  # type: ignore[type-arg]
    now = datetime.now(UTC)
    expected = expected_profiles(stream, now)
    async with engine.connect() as conn:
        stored = {cid: await PROFILES.get(conn, cid) for cid in expected}
    for customer_id, want in expected.items():
        got = stored[customer_id]
        assert got is not None, customer_id
        settle(got, now)
        got_view, want_view = view(got, now), view(want, now)
        for part in ("version", "next_review_at"):
            got_view.pop(part), want_view.pop(part)
        assert got_view == want_view, customer_id
    # Outputs survived too: the newest profile.v1 message per customer carries the stored version.
    published = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.PROFILE))
    newest: dict[str, int] = {}
    for record in published:
        event = decode_event(record.value, key=record.key, base_topic=topics.PROFILE)
        newest[event.customer_id] = max(newest.get(event.customer_id, 0), event.payload.version)  # type: ignore[union-attr]
    assert newest == {cid: p.version for cid, p in stored.items() if p is not None}


async def test_kill_9_mid_stream_then_restart_loses_and_doubles_nothing(
    ns: Namespace,
    engine: AsyncEngine,
    stream: list,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    distinct = len({e.event_id for e in stream})
    assert len(stream) > distinct  # the stream really carries duplicates
    first = start_service("tierflow_profile", "run", env=profile_env(ns), log=tmp_path / "profile-1.log")
    producing = asyncio.create_task(produce_slowly(ns, stream))
    try:
        await wait_until(lambda: _at_least(processed_count(engine), distinct // 3), what="a third processed")
        kill_hard(first)
        killed_at = await processed_count(engine)
        assert killed_at < distinct, "the crash must happen mid-stream"
        await producing
        second = start_service("tierflow_profile", "run", env=profile_env(ns), log=tmp_path / "profile-2.log")
        try:
            await wait_until(lambda: _at_least(processed_count(engine), distinct), timeout_s=120, what="all events")
        finally:
            assert terminate(second) == 0
    finally:
        if first.poll() is None:
            kill_hard(first)
    assert await processed_count(engine) == distinct
    await assert_exact(ns, engine, stream)


async def test_sigterm_drains_commits_and_exits_zero(
    ns: Namespace,
    engine: AsyncEngine,
    stream: list,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    distinct = len({e.event_id for e in stream})
    first = start_service("tierflow_profile", "run", env=profile_env(ns), log=tmp_path / "profile-1.log")
    producing = asyncio.create_task(produce_slowly(ns, stream))
    await wait_until(lambda: _at_least(processed_count(engine), distinct // 4), what="a quarter processed")
    assert terminate(first) == 0
    await producing
    second = start_service("tierflow_profile", "run", env=profile_env(ns), log=tmp_path / "profile-2.log")
    try:
        await wait_until(lambda: _at_least(processed_count(engine), distinct), timeout_s=120, what="all events")
    finally:
        assert terminate(second) == 0
    await assert_exact(ns, engine, stream)


async def _at_least(value_coro, minimum: int) -> bool:  # type: ignore[no-untyped-def]
    return (await value_coro) >= minimum


async def test_a_rebalance_between_two_profile_processes_loses_and_doubles_nothing(
    ns: Namespace,
    engine: AsyncEngine,
    stream: list,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    distinct = len({e.event_id for e in stream})
    first = start_service("tierflow_profile", "run", env=profile_env(ns), log=tmp_path / "profile-a.log")
    producing = asyncio.create_task(produce_slowly(ns, stream))
    second = None
    try:
        await wait_until(lambda: _at_least(processed_count(engine), distinct // 4), what="a quarter processed")
        second = start_service("tierflow_profile", "run", env=profile_env(ns), log=tmp_path / "profile-b.log")
        await wait_until(lambda: _assignments(tmp_path / "profile-b.log", 1), what="the second process to join")
        await wait_until(lambda: _at_least(processed_count(engine), distinct // 2), what="half processed")
        assert terminate(first) == 0  # its partitions move to the second process
        await producing
        await wait_until(lambda: _at_least(processed_count(engine), distinct), timeout_s=120, what="all events")
        await wait_until(lambda: _assignments(tmp_path / "profile-b.log", 2), what="the takeover")
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                assert terminate(process) == 0
    assert await processed_count(engine) == distinct
    await assert_exact(ns, engine, stream)


async def _assignments(log: Path, at_least: int) -> bool:
    text = await asyncio.to_thread(lambda: log.read_text() if log.exists() else "")
    return text.count('"msg":"partitions assigned"') >= at_least
