"""The learned churn score on the real broker and PostgreSQL: the shipped default is active, the service records
monthly observations and labels them when a customer turns dormant, a fit on matured observations is stored
with its report and PNG, and activating it re-scores everyone under it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tierflow_cli.churn_files import reliability_png
from tierflow_common.clock import WallClock
from tierflow_common.db.engine import create_engine
from tierflow_common.events import ScoreChanged, decode_event, topics
from tierflow_scoring.adapters import observations
from tierflow_scoring.adapters.tables import churn_observations
from tierflow_scoring.application.errors import FitRefused
from tierflow_scoring.application.models import activate_model, fit_churn_score, list_models, model_report
from tierflow_scoring.bootstrap import MIGRATIONS_DIR, build
from tierflow_scoring.domain.churn_logistic import FEATURES, sigmoid
from tierflow_scoring.domain.observations import Recorded
from tierflow_scoring.settings import ScoringSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, migrate, running

pytestmark = pytest.mark.integration


async def published(ns: Namespace, min_count: int) -> list[ScoreChanged]:
    records = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.SCORE), min_count=min_count)
    return [decode_event(r.value, key=r.key, base_topic=topics.SCORE) for r in records]  # type: ignore[misc]


def history(count: int, *, now: datetime, seed: int) -> list[Recorded]:
    """Observations from four months ago: the login gap feature drives churn (a known logistic truth)."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        gap = rng.expovariate(1.0)
        features = tuple(gap if name == "login_gap" else 0.0 for name in FEATURES)
        rows.append(Recorded(f"H{n:05d}", now - timedelta(days=120), "old", features, score=0.5))
    return rows


async def test_observations_are_recorded_labelled_and_learned_from(ns: Namespace) -> None:
    settings = ns.settings(ScoringSettings, "scoring", rules_refresh_s=0.2)
    await migrate(settings, MIGRATIONS_DIR)
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="t"
    )
    now = datetime.now(UTC)
    quiet_since = now - timedelta(days=90) + timedelta(seconds=3)  # turns dormant in 3 s
    try:
        async with running(build(settings)):
            await produce(
                ns.infra.kafka_bootstrap,
                ns.topics.name(topics.PROFILE),
                [
                    b.profile_updated("L1", 1, at=now, total_assets="800000", last_trade_at=now, last_login_at=now),
                    b.profile_updated("L1", 2, at=now, total_assets="810000", last_trade_at=now, last_login_at=now),
                    b.profile_updated("L2", 1, at=now, total_assets="900000", last_trade_at=quiet_since),
                ],
            )
            first = await published(ns, 2)
            assert {e.payload.model_version for e in first} == {"learned-sim-2026.12"}  # the shipped default

            async def labelled() -> bool:
                async with engine.connect() as conn:
                    rows = (await conn.execute(select(churn_observations))).mappings().all()
                return any(r["customer_id"] == "L2" and r["churned_at"] is not None for r in rows)

            await wait_until(labelled, timeout_s=30, what="L2's observation to be labelled when it turned dormant")
            async with engine.connect() as conn:
                rows = {r["customer_id"]: r for r in (await conn.execute(select(churn_observations))).mappings()}
            assert set(rows) == {"L1", "L2"}  # one a month: L1's second profile added none
            assert rows["L1"]["churned_at"] is None and set(rows["L1"]["features"]) == set(FEATURES)
            assert rows["L2"]["churned_at"] == quiet_since + timedelta(days=90)
            assert rows["L1"]["score"] == pytest.approx(first[0].payload.churn_score)

            # Not matured yet (90 days): a fit on the stored observations alone is refused.
            with pytest.raises(FitRefused, match="at least 30 of each"):
                await fit_churn_score(engine, WallClock(), version="too-early")

            # Four months of history, labelled with a known truth, then the fit on what has matured.
            past = history(6_000, now=now, seed=3)
            draws = random.Random(4)
            async with engine.begin() as conn:
                await observations.record(conn, observations=past)
                churned = [
                    (o.customer_id, o.observed_at + timedelta(days=30))
                    for o in past
                    if draws.random() < sigmoid(-3.0 + 1.5 * o.features[FEATURES.index("login_gap")])
                ]
                await observations.label_churned(conn, churned=churned)
            learned = await fit_churn_score(engine, WallClock(), version="firm-2026-12", render=reliability_png)
            assert learned.fit.trained_on + learned.fit.fitted.observations == 6_000
            assert learned.model.logistic is not None
            assert learned.model.logistic.as_mapping()["login_gap"] == pytest.approx(1.5, abs=0.3)
            assert learned.model.logistic.intercept == pytest.approx(-3.0, abs=0.3)
            stored = await model_report(engine, "firm-2026-12")
            assert stored.calibration is not None and stored.calibration["fitted"]["observations"] > 900
            assert stored.calibration_png is not None and stored.calibration_png.startswith(b"\x89PNG")
            assert [m.model.version for m in await list_models(engine) if m.active] == ["learned-sim-2026.12"]

            await activate_model(engine, WallClock(), "firm-2026-12")
            rescored = await published(ns, 4)
            assert {e.payload.model_version for e in rescored if e.customer_id == "L1"} >= {"firm-2026-12"}
    finally:
        await engine.dispose()
