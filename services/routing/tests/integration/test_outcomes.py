"""Outcome windows on the real broker and PostgreSQL: folded as facts arrive, matured as time passes, sent once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.events import OutcomeRecorded, RoutingDecided, decode_event, topics
from tierflow_common.events.ids import derived_id
from tierflow_routing.adapters import outcomes as stored
from tierflow_routing.bootstrap import build
from tierflow_routing.settings import RoutingSettings
from tierflow_testing import builders as b
from tierflow_testing.clock import SetClock
from tierflow_testing.kafka import produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, running

from .conftest import state_of

pytestmark = pytest.mark.integration

T = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


async def apply(ns: Namespace, database: AsyncEngine, event: Any) -> None:
    """Produce a profile or score event and wait until the worker has applied it."""
    is_profile = event.event_type == "profile.updated"
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.PROFILE if is_profile else topics.SCORE), [event])

    async def taken() -> bool:
        state = await state_of(database, event.customer_id)
        held = None if state is None else state.profile.profile_version if is_profile else state.score.score_version
        return held is not None and held >= event.payload.version

    await wait_until(taken, timeout_s=30, what=f"{event.event_type} v{event.payload.version} applied")


async def published(ns: Namespace, *, min_count: int) -> list[OutcomeRecorded]:
    records = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.OUTCOME), min_count=min_count)
    assert all(r.key == b"O1" for r in records)
    return [decode_event(r.value, key=r.key, base_topic=topics.OUTCOME) for r in records]  # type: ignore[misc]


def counted(outcome: str, window: str, flow: str = "community") -> float:
    labels = {"flow": flow, "experiment": "none", "arm": "none", "outcome": outcome, "window": window}
    return REGISTRY.get_sample_value("tierflow_outcomes_total", labels) or 0.0


async def test_windows_mature_as_time_passes_and_each_outcome_is_published_once(
    ns: Namespace, settings: RoutingSettings, database: AsyncEngine
) -> None:
    clock = SetClock(T)
    before = {(o, w): counted(o, w) for o in ("matured", "traded_again", "logged_in") for w in ("7", "30")}
    before_reactivation = counted("matured", "7", flow="reactivation")
    async with running(build(settings, clock=clock)):
        await apply(
            ns, database, b.profile_updated("O1", 1, at=T, total_assets="100", last_trade_at=T - timedelta(days=2))
        )
        await apply(ns, database, b.score_changed("O1", 1, "C", at=T + timedelta(minutes=1), churn_band="medium"))
        # Day 3: a trade and a login. Day 10: scored dormant, re-routed. Day 12: a login, 1,500.00 transferred in.
        day = lambda n: T + timedelta(minutes=1, days=n)  # noqa: E731
        await apply(ns, database, b.profile_updated("O1", 2, at=day(3), total_assets="100", last_trade_at=day(3)))
        await apply(ns, database, b.score_changed("O1", 2, "D", at=day(10), churn_band="high"))
        await apply(
            ns,
            database,
            b.profile_updated("O1", 3, at=day(12), total_assets="1600", last_trade_at=day(3), net_inflow_30d="1500.00"),
        )
        decisions = [
            decode_event(r.value, key=r.key, base_topic=topics.ROUTING)
            for r in await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.ROUTING), min_count=2)
        ]
        first, second = sorted((d for d in decisions if isinstance(d, RoutingDecided)), key=lambda d: d.payload.version)
        assert (first.payload.flow.value, second.payload.flow.value) == ("community", "reactivation")
        assert first.payload.decided_at == day(0) and second.payload.decided_at == day(10)
        assert await published(ns, min_count=0) == []  # nothing has matured on the worker's clock yet

        clock.moment = day(31) + timedelta(hours=2)  # past day 30 and the hour of grace
        out = await published(ns, min_count=3)
    assert len(out) == 3
    by_window = {(o.payload.decision_id, int(o.payload.window_days)): o for o in out}
    d1, d2 = first.payload.decision_id, second.payload.decision_id
    assert set(by_window) == {(d1, 7), (d1, 30), (d2, 7)}
    assert {o.event_id for o in out} == {derived_id("outcome", d, w) for d, w in by_window}
    week = by_window[(d1, 7)].payload
    assert (week.traded_again, week.logged_in, week.kept_or_regained_tier, week.became_dormant) == (
        True,
        True,
        True,
        False,
    )
    assert week.superseded_at is None and week.net_inflow is None
    assert week.churn_band_moved is not None and week.churn_band_moved.value == "same"
    assert (week.window_start, week.window_end, week.flow.value, week.tier.value) == (day(0), day(7), "community", "C")
    month = by_window[(d1, 30)].payload
    assert (month.superseded_at, month.superseded_by) == (day(10), d2)
    assert (month.traded_again, month.became_dormant, month.kept_or_regained_tier) == (True, True, False)
    assert month.tier_at_end is not None and month.tier_at_end.value == "D"
    assert month.churn_band_moved is not None and month.churn_band_moved.value == "up"
    assert month.net_inflow == Decimal("1500.00")
    second_week = by_window[(d2, 7)].payload
    assert (second_week.flow.value, second_week.tier.value) == ("reactivation", "D")
    assert (second_week.traded_again, second_week.logged_in, second_week.kept_or_regained_tier) == (False, True, False)
    assert counted("matured", "7") - before[("matured", "7")] == 1
    assert counted("matured", "7", flow="reactivation") - before_reactivation == 1
    assert counted("traded_again", "7") - before[("traded_again", "7")] == 1
    assert counted("logged_in", "30") - before[("logged_in", "30")] == 1

    # A restart, a redelivered profile and more sweeps publish nothing again; the rest matures later, once.
    async with running(build(settings, clock=clock)):
        await produce(
            ns.infra.kafka_bootstrap,
            ns.topics.name(topics.PROFILE),
            [b.profile_updated("O1", 2, at=day(3), total_assets="100", last_trade_at=day(3))],
        )
        assert (
            len(
                await published(
                    ns,
                    min_count=3,
                )
            )
            == 3
        )
        clock.moment = day(101)
        out = await published(ns, min_count=6)

        async def all_matured() -> bool:
            async with database.connect() as conn:
                rows = await stored.outcomes_of(conn, customer_id="O1")
            return len(rows) == 6 and all(r["status"] == "matured" for r in rows)

        await wait_until(all_matured, timeout_s=30, what="all six windows matured")
    out = await published(ns, min_count=6)
    assert len(out) == len({o.event_id for o in out}) == 6
    quarter = next(o.payload for o in out if o.payload.decision_id == d1 and o.payload.window_days == 90)
    assert quarter.superseded_by == d2 and quarter.tier_at_end is not None and quarter.tier_at_end.value == "D"
    async with database.connect() as conn:
        rows = await stored.outcomes_of(conn, customer_id="O1")
    assert all(r["matured_at"] is not None and r["outcome"] is not None for r in rows)
