"""The profile service on the real broker and PostgreSQL: coalescing, late events, restarts, rebuilds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine
from tierflow_common.events import ProfileUpdated, decode_event, encode_event, topics
from tierflow_profile.adapters.profiles import PROFILES
from tierflow_profile.bootstrap import MIGRATIONS_DIR, build
from tierflow_profile.domain.snapshot import settle, view
from tierflow_profile.rebuild import rebuild
from tierflow_profile.settings import ProfileSettings
from tierflow_simulator.history import history
from tierflow_simulator.population import make_population
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
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="t"
    )
    yield engine
    await engine.dispose()


async def published(ns: Namespace, *, min_count: int) -> list[ProfileUpdated]:
    records = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.PROFILE), min_count=min_count)
    return [decode_event(r.value, key=r.key, base_topic=topics.PROFILE) for r in records]  # type: ignore[misc]


async def input_committed(ns: Namespace, group: str) -> int:
    total = 0
    for topic in ns.topics.inputs:
        total += sum(o or 0 for o in (await committed_offsets(ns.infra.kafka_bootstrap, group, topic)).values())
    return total


async def test_events_of_one_customer_in_a_batch_make_one_write_and_one_message(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trades = [b.trade("C1", NOW - timedelta(minutes=m), commission="2.00") for m in range(5)]
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.TRADE), trades)
    async with running(build(settings)):
        messages = await published(ns, min_count=1)
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 5), what="commit")
    assert [(m.payload.version, m.payload.trading.trades_total) for m in messages] == [(1, 5)]
    assert messages[0].payload.contribution.commission_12m == Decimal("10.00")
    async with engine.connect() as conn:
        stored = await PROFILES.get(conn, "C1")
    assert stored is not None and stored.version == 1


async def test_late_events_land_in_the_right_windows(ns: Namespace, settings: ProfileSettings) -> None:
    bootstrap = ns.infra.kafka_bootstrap
    async with running(build(settings)):
        await produce(bootstrap, ns.topics.name(topics.TRADE), [b.trade("C1", NOW, commission="1.00")])
        await produce(bootstrap, ns.topics.name(topics.BALANCE), [b.balance("C1", "500000.00", NOW)])
        await published(ns, min_count=1)
        # Arriving late: a trade from 100 days ago, and a balance snapshot older than the one held.
        await produce(
            bootstrap, ns.topics.name(topics.TRADE), [b.trade("C1", NOW - timedelta(days=100), commission="4.00")]
        )
        await produce(bootstrap, ns.topics.name(topics.BALANCE), [b.balance("C1", "1.00", NOW - timedelta(days=40))])
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 4), what="all applied")
        newest = max(await published(ns, min_count=2), key=lambda m: m.payload.version)
    trading, assets = newest.payload.trading, newest.payload.assets
    assert (trading.trades_30d, trading.trades_90d, trading.trades_365d) == (1, 1, 2)
    assert trading.last_trade_at == NOW and trading.first_trade_at == NOW - timedelta(days=100)
    assert newest.payload.contribution.commission_12m == Decimal("5.00")
    assert assets.total_assets == Decimal("500000.00")  # the older snapshot did not replace it
    assert assets.total_assets_30d_ago == Decimal("1.00")  # but it is history now


async def test_duplicates_change_nothing_across_a_consumer_restart(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    first = [b.trade("C1", NOW - timedelta(minutes=m)) for m in range(3)]
    async with running(build(settings)):
        await produce(ns.infra.kafka_bootstrap, trade_topic, first)
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 3), what="first run")
    # The process is gone; a producer retries one event and a new one comes.
    await produce(ns.infra.kafka_bootstrap, trade_topic, [first[1], b.trade("C1", NOW)])
    async with running(build(settings)):
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 5), what="second run")
    async with engine.connect() as conn:
        stored = await PROFILES.get(conn, "C1")
    assert stored is not None and stored.trades_total == 4


async def test_the_same_event_id_with_other_content_is_dead_lettered_as_a_conflict(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    trade_topic = ns.topics.name(topics.TRADE)
    first = b.trade("C1", NOW, commission="2.00")
    async with running(build(settings)):
        await produce(ns.infra.kafka_bootstrap, trade_topic, [first])
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 1), what="first")
        await produce(ns.infra.kafka_bootstrap, trade_topic, [first])  # a producer retry: a duplicate
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 2), what="the retry")
        altered = b.trade("C1", NOW, commission="9.00", event_id=first.event_id)
        await produce(ns.infra.kafka_bootstrap, trade_topic, [altered])
        dead = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=1)
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 3), what="all taken")
    assert len(dead) == 1
    headers = dict(dead[0].headers)
    assert headers["tierflow.error.kind"] == b"conflict"
    assert b"event_id was applied before with other content" in headers["tierflow.error"]
    assert dead[0].value == encode_event(altered)
    async with engine.connect() as conn:
        stored = await PROFILES.get(conn, "C1")
    assert stored is not None and stored.trades_total == 1 and stored.commission_total == Decimal("2.00")


async def test_a_republished_version_is_the_same_message_byte_for_byte(
    ns: Namespace, settings: ProfileSettings
) -> None:
    """A batch redelivered after its commit republishes the current version under the same id: with the
    same content too, or every downstream inbox would take it for a conflict."""
    trade = b.trade("C1", NOW - timedelta(minutes=5))
    async with running(build(settings)):
        await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.TRADE), [trade])
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 1), what="first")
    await asyncio.sleep(1.1)  # a republication a second later must not say so
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.TRADE), [trade])  # redelivered
    async with running(build(settings)):
        records = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.PROFILE), min_count=2)
    assert len(records) == 2
    assert records[0].value == records[1].value


async def test_a_shadow_rebuild_publishes_under_ids_that_never_collide_with_live(
    ns: Namespace, settings: ProfileSettings
) -> None:
    profile_topic = ns.topics.name(topics.PROFILE)
    async with running(build(settings)):
        for minutes in (30, 20, 10):  # three batches: live reaches version 3
            await produce(
                ns.infra.kafka_bootstrap,
                ns.topics.name(topics.TRADE),
                [b.trade("C1", NOW - timedelta(minutes=minutes))],
            )
            await published(ns, min_count=4 - minutes // 10)
    live = {r.value for r in await read_topic(ns.infra.kafka_bootstrap, profile_topic, min_count=3)}
    live_ids = {orjson.loads(v)["event_id"] for v in live}
    report = await rebuild(settings, schema=ns.schema("shadow"), publish=True)  # one batch: version 1
    assert report.applied == 3
    after = await read_topic(ns.infra.kafka_bootstrap, profile_topic, min_count=len(live) + 1)
    rebuilt = [orjson.loads(r.value) for r in after if r.value not in live]
    assert [m["payload"]["version"] for m in rebuilt] == [1]
    assert not {m["event_id"] for m in rebuilt} & live_ids
    contents: dict[str, set[bytes]] = {}
    for record in after:
        contents.setdefault(orjson.loads(record.value)["event_id"], set()).add(record.value)
    assert all(len(values) == 1 for values in contents.values())  # one id, one content


async def test_events_beyond_the_late_horizon_are_dead_lettered_with_the_reason(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    ancient = b.trade("C1", NOW - timedelta(days=500))
    future = b.trade("C1", NOW + timedelta(days=3))
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.TRADE), [b.trade("C1", NOW), ancient, future])
    async with running(build(settings)):
        dead = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=2)
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 3), what="commit")
    reasons = {decode_event(m.value, key=m.key, base_topic=topics.TRADE).event_id: dict(m.headers) for m in dead}
    assert reasons[ancient.event_id]["tierflow.error.kind"] == b"rejected"
    assert b"late-arrival horizon of 400 days" in reasons[ancient.event_id]["tierflow.error"]
    assert b"ahead of when it was produced" in reasons[future.event_id]["tierflow.error"]
    async with engine.connect() as conn:
        stored = await PROFILES.get(conn, "C1")
    assert stored is not None and stored.trades_total == 1


async def test_master_data_and_balances_of_any_age_are_state_and_the_newest_wins(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    """A go-live backfill: KYC and consents last changed three years ago still make the customer master."""
    bootstrap = ns.infra.kafka_bootstrap
    three_years_ago = NOW - timedelta(days=3 * 365)
    consents = {"marketing_push": True, "marketing_sms": True, "data_for_advice": True}
    master = b.customer("C1", three_years_ago, risk_level="C4", birth_year=1958, consents=consents)
    older = b.customer("C1", three_years_ago - timedelta(days=90), risk_level="C1", consents={"marketing_sms": True})
    snapshot = b.balance("C1", "2500000.00", three_years_ago)
    older_snapshot = b.balance("C1", "10.00", three_years_ago - timedelta(days=1))
    await produce(bootstrap, ns.topics.name(topics.CUSTOMER), [master, older])  # the older one arrives later
    await produce(bootstrap, ns.topics.name(topics.BALANCE), [snapshot, older_snapshot])
    async with running(build(settings)):
        await wait_until(lambda: _equals(input_committed(ns, settings.consumer_group), 4), what="commit")
        newest = max(await published(ns, min_count=1), key=lambda m: m.payload.version)
    dead = await read_topic(bootstrap, ns.topics.name(topics.DEAD_LETTER), timeout_s=3)
    assert dead == []  # neither too old nor an error: an older state fact changes nothing
    master_view = newest.payload.master
    assert (master_view.risk_level, master_view.age_band) == ("C4", "60_plus")
    assert {k for k, v in master_view.consents.model_dump().items() if v} == set(consents)
    assert newest.payload.assets.total_assets == Decimal("2500000.00")
    assert newest.payload.assets.as_of == three_years_ago
    async with engine.connect() as conn:
        stored = await PROFILES.get(conn, "C1")
    assert stored is not None and stored.risk_level == "C4" and stored.master_as_of == three_years_ago


async def test_rebuilt_profiles_equal_the_live_ones(
    ns: Namespace, settings: ProfileSettings, engine: AsyncEngine
) -> None:
    stream = history(make_population(60, seed=11, now=NOW), total_events=1500, now=NOW, seed=11, duplicate_rate=0.02)
    async with running(build(settings)):
        for topic in ns.topics.inputs:
            base = ns.topics.base(topic)
            await produce(ns.infra.kafka_bootstrap, topic, [(e.key, e.value) for e in stream if e.topic == base])
        await wait_until(
            lambda: _equals(input_committed(ns, settings.consumer_group), len(stream)), timeout_s=120, what="live"
        )
    shadow = ns.schema("rebuilt")
    report = await rebuild(settings, schema=shadow)
    assert report.read == len(stream)
    assert report.applied == len({e.event_id for e in stream})
    assert report.customers == 60
    live, rebuilt = await _views(engine, None, NOW), await _views(None, (settings, shadow), NOW)
    assert live.keys() == rebuilt.keys() and len(live) == 60
    assert live == rebuilt
    # One customer alone, from the only partition that holds them.
    one = ns.schema("one")
    single = await rebuild(settings, schema=one, customer_id="C0000007")
    assert single.customers == 1
    assert (await _views(None, (settings, one), NOW)) == {"C0000007": live["C0000007"]}


async def test_the_cli_rebuilds_with_a_final_count_and_shows_a_profile(
    ns: Namespace, settings: ProfileSettings, tmp_path: Path
) -> None:
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.TRADE), [b.trade("C9", NOW, commission="3.00")])
    env = {
        **os.environ,
        **ns.env("TIERFLOW_PROFILE_", "profile"),
        "TIERFLOW_STATE_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "tierflow_cli"]
    rebuilt = await asyncio.to_thread(
        subprocess.run,
        [*command, "profile", "rebuild", "--schema", ns.schema("cli")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"rebuilt 1 customer(s) into schema {ns.schema('cli')}: read 1 messages, applied 1" in rebuilt.stdout
    shown = await asyncio.to_thread(
        subprocess.run,
        [*command, "profile", "show", "C9", "--schema", ns.schema("cli")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert orjson.loads(shown.stdout)["contribution"]["commission_total"] == "3.00"
    refused = await asyncio.to_thread(
        subprocess.run, [*command, "profile", "rebuild", "--schema", settings.db_schema], env=env, capture_output=True
    )
    assert refused.returncode == 2  # the live schema needs --in-place


async def _views(engine: AsyncEngine | None, target: tuple[ProfileSettings, str] | None, now: datetime) -> dict:  # type: ignore[type-arg]
    """Every stored profile's view at one moment (version and time fields aside)."""
    from sqlalchemy import text

    own = engine is None
    if engine is None:
        assert target is not None
        engine = create_engine(target[0].infra.database_url.get_secret_value(), schema=target[1], application_name="t")
    try:
        async with engine.connect() as conn:
            ids = [row[0] for row in await conn.execute(text("SELECT customer_id FROM profiles"))]
            views = {}
            for customer_id in ids:
                profile = await PROFILES.get(conn, customer_id)
                assert profile is not None
                settle(profile, now)
                shown = view(profile, now)
                for volatile in ("version", "next_review_at", "computed_at"):
                    shown.pop(volatile)
                views[customer_id] = shown
            return views
    finally:
        if own:
            await engine.dispose()


async def _equals(value_coro, expected) -> bool:  # type: ignore[no-untyped-def]
    return (await value_coro) == expected
