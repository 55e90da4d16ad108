"""Scoring on the real broker and PostgreSQL: changes published, dormancy on time, replay = live."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tierflow_common.clock import WallClock
from tierflow_common.db.engine import create_engine
from tierflow_common.events import ScoreChanged, decode_event, topics
from tierflow_common.kafka.admin import ensure_topics
from tierflow_scoring.application.policies import activate_policy_file
from tierflow_scoring.bootstrap import MIGRATIONS_DIR, build
from tierflow_scoring.domain.policy import SHIPPED
from tierflow_scoring.settings import ScoringSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, migrate, running

pytestmark = pytest.mark.integration


async def scores(ns: Namespace, *, min_count: int, topic: str | None = None) -> list[ScoreChanged]:
    records = await read_topic(ns.infra.kafka_bootstrap, topic or ns.topics.name(topics.SCORE), min_count=min_count)
    events = [decode_event(r.value, key=r.key, base_topic=topics.SCORE) for r in records]
    return sorted(events, key=lambda e: (e.customer_id, e.payload.version))  # type: ignore[union-attr]


def summary(events: list[ScoreChanged]) -> list[tuple[Any, ...]]:
    return [
        (
            e.customer_id,
            e.payload.version,
            e.payload.tier.value,
            e.payload.churn_band,
            e.payload.decided_at,
            e.payload.caused_by,
            tuple(r.code for r in e.payload.reasons),
        )
        for e in events
    ]


async def test_changes_are_published_and_a_silent_customer_turns_dormant_on_time(ns: Namespace) -> None:
    settings = ns.settings(ScoringSettings, "scoring")
    await migrate(settings, MIGRATIONS_DIR)
    now = datetime.now(UTC)
    last_trade = now - timedelta(days=90) + timedelta(seconds=4)  # day 90 of silence comes in 4 s
    async with running(build(settings)):
        rich = b.profile_updated("C1", 1, at=now, total_assets="20000000", last_trade_at=last_trade)
        await produce(
            ns.infra.kafka_bootstrap,
            ns.topics.name(topics.PROFILE),
            [
                rich,
                b.profile_updated("C2", 1, at=now, total_assets="6000000", last_trade_at=now),
                b.profile_updated("C2", 2, at=now, total_assets="6500000", last_trade_at=now),  # still B
            ],
        )
        events = await scores(ns, min_count=3)
    c1 = [e for e in events if e.customer_id == "C1"]
    assert [(e.payload.tier.value, e.payload.previous_tier) for e in c1] == [("A", None), ("D", "A")]
    assert c1[0].payload.caused_by == rich.event_id
    dormant = c1[1].payload
    assert dormant.caused_by is None  # time did it, through the sweeper
    assert dormant.decided_at == last_trade + timedelta(days=90)  # exactly at its moment
    assert dormant.reasons[0].code == "no_trade_90d"
    assert dormant.policy_version == "default-2026.11" and dormant.model_version == "learned-sim-2026.12"
    assert [e.payload.tier.value for e in events if e.customer_id == "C2"] == ["B"]


async def test_a_replay_decides_exactly_as_the_live_run(ns: Namespace) -> None:
    """Live on wall time, then the same profile log replayed in event time: the same decisions."""
    live = ns.settings(ScoringSettings, "scoring")
    await migrate(live, MIGRATIONS_DIR)
    profile_topic = ns.topics.name(topics.PROFILE)
    now = datetime.now(UTC)
    quiet_since = now - timedelta(days=90) + timedelta(seconds=3)
    year_ago = now - timedelta(days=300)
    async with running(build(live)):
        await produce(
            ns.infra.kafka_bootstrap,
            profile_topic,
            [
                b.profile_updated(
                    "R1",
                    1,
                    at=now,
                    total_assets="12000000",
                    last_trade_at=now,
                    repeat=(40, 300),
                    first_trade_at=year_ago,
                ),
                b.profile_updated(
                    "R2",
                    1,
                    at=now,
                    total_assets="700000",
                    last_trade_at=now - timedelta(days=50),
                    repeat=(5, 100),
                    first_trade_at=now - timedelta(days=150),
                ),
                b.profile_updated("R3", 1, at=now, total_assets="8000000", last_trade_at=quiet_since),
                b.profile_updated(
                    "R1",
                    2,
                    at=now + timedelta(seconds=1),
                    total_assets="3000000",
                    last_trade_at=now,
                    repeat=(41, 300),
                    first_trade_at=year_ago,
                ),
            ],
        )
        await wait_until(lambda: _has_dormant(ns, "R3"), timeout_s=30, what="R3 to turn dormant live")
        # Later activity elsewhere: the replay's event clock reaches past R3's dormancy moment too.
        await produce(ns.infra.kafka_bootstrap, profile_topic, [b.profile_updated("R9", 1, at=datetime.now(UTC))])
        live_events = await scores(ns, min_count=6)

    # The replay: the same profile log, in another namespace, on event time.
    replay_ns = Namespace(ns.name + "r", ns.infra)
    await ensure_topics({"bootstrap_servers": ns.infra.kafka_bootstrap}, replay_ns.topics.all, partitions=3)
    log = await read_topic(ns.infra.kafka_bootstrap, profile_topic, min_count=5)
    await produce(ns.infra.kafka_bootstrap, replay_ns.topics.name(topics.PROFILE), [(r.key, r.value) for r in log])
    replay = replay_ns.settings(ScoringSettings, "scoring", clock="event")
    await migrate(replay, MIGRATIONS_DIR)
    async with running(build(replay)):
        await scores(replay_ns, min_count=len(live_events))
        await asyncio.sleep(1.0)  # give any extra decision the chance to show up
        replay_events = await scores(replay_ns, min_count=len(live_events))
    assert summary(replay_events) == summary(live_events)
    assert any(e.payload.tier.value == "D" and e.payload.caused_by is None for e in replay_events)


async def test_activating_a_policy_rescores_everyone_under_it(ns: Namespace) -> None:
    settings = ns.settings(ScoringSettings, "scoring", rules_refresh_s=0.2)
    await migrate(settings, MIGRATIONS_DIR)
    now = datetime.now(UTC)
    async with running(build(settings)):
        await produce(
            ns.infra.kafka_bootstrap,
            ns.topics.name(topics.PROFILE),
            [
                b.profile_updated("P1", 1, at=now, total_assets="2000000", last_trade_at=now),
                b.profile_updated("P2", 1, at=now, total_assets="50000", last_trade_at=now),
            ],
        )
        first = await scores(ns, min_count=2)
        assert {e.customer_id: e.payload.tier.value for e in first} == {"P1": "C", "P2": "C"}
        engine = create_engine(
            settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="t"
        )
        await activate_policy_file(engine, WallClock(), SHIPPED / "lower_band.yaml")
        await engine.dispose()
        after = await scores(ns, min_count=4)
    newest = {e.customer_id: e.payload for e in after}
    assert (newest["P1"].tier.value, newest["P1"].policy_version) == ("A", "lower-band-2026.11")
    assert (newest["P2"].tier.value, newest["P2"].policy_version) == (
        "C",
        "lower-band-2026.11",
    )  # republished: new policy


async def _has_dormant(ns: Namespace, customer_id: str) -> bool:
    events = await scores(ns, min_count=0)
    return any(e.customer_id == customer_id and e.payload.tier.value == "D" for e in events)


async def test_a_profile_version_with_other_content_under_its_id_is_a_conflict(ns: Namespace) -> None:
    settings = ns.settings(ScoringSettings, "scoring")
    await migrate(settings, MIGRATIONS_DIR)
    now = datetime.now(UTC)
    bootstrap = ns.infra.kafka_bootstrap
    first = b.profile_updated("C1", 1, at=now, total_assets="20000000", last_trade_at=now)
    other = b.profile_updated("C1", 1, at=now, total_assets="10", last_trade_at=now)  # same id, other content
    assert first.event_id == other.event_id
    async with running(build(settings)):
        await produce(bootstrap, ns.topics.name(topics.PROFILE), [first])
        assert [e.payload.tier.value for e in await scores(ns, min_count=1)] == ["A"]
        await produce(bootstrap, ns.topics.name(topics.PROFILE), [other])
        dead = await read_topic(bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=1)
    assert [dict(d.headers)["tierflow.error.kind"] for d in dead] == [b"conflict"]
    assert [e.payload.tier.value for e in await scores(ns, min_count=1)] == ["A"]  # the first stands
