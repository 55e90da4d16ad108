"""Experiment reports on real PostgreSQL: the per-arm sums the API reads equal a computation customer by customer."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_routing.adapters import outcomes as store
from tierflow_routing.domain.experiment_stats import ArmSample, compare_arms
from tierflow_routing.domain.facts import Assignment
from tierflow_routing.domain.outcomes import Baseline, Outcome, open_windows
from tierflow_routing.settings import RoutingSettings

from .conftest import SECRET, bearer
from .test_experiments import policy_yaml

pytestmark = pytest.mark.integration

START = datetime(2026, 6, 1, tzinfo=UTC)
EXPERIMENT, HOLDOUT = "robo-for-c-1", "programme-holdout"


def outcome(returned: bool, *, traded: bool = False) -> Outcome:
    return Outcome(
        traded_again=traded,
        logged_in=returned,
        kept_or_regained_tier=True,
        became_dormant=False,
        closed=False,
        churn_band_moved=None,
        tier_at_end="C",
        churn_band_at_end=None,
        net_inflow=None,
    )


async def decide(
    database: AsyncEngine,
    customer: str,
    at: datetime,
    assignment: Assignment | None,
    pre: int,
    results: dict[int, Outcome],
    flow: str = "community",
) -> None:
    """One decision with its windows, those in `results` matured with that outcome, the others still pending."""
    baseline = Baseline(
        decision_id=str(uuid.uuid4()),
        customer_id=customer,
        version=1,
        decided_at=at,
        flow=flow,
        tier="C",
        experiment=assignment,
        pre_activity=pre,
    )
    windows = open_windows(baseline, None, None)
    async with database.begin() as conn:
        await store.save_pending(conn, windows=windows)
        matured = [(w, results[w.window_days]) for w in windows if w.window_days in results]
        await store.mark_matured(conn, matured=matured, at=at + timedelta(days=91))


async def test_arm_sums_and_differences_equal_a_customer_by_customer_computation(
    api: httpx.AsyncClient, database: AsyncEngine
) -> None:
    uploaded = await api.post("/v1/policies", json={"yaml": policy_yaml("exp-1")}, headers=bearer("policy:write"))
    assert uploaded.status_code == 201, uploaded.text
    rng = random.Random(19)
    expected: dict[str, tuple[list[int], list[float]]] = {"control": ([], []), "robo": ([], []), "holdout": ([], [])}
    programme: tuple[list[int], list[float]] = ([], [])
    for n in range(600):
        customer = f"R{n:04d}"
        arm = ("holdout", "control", "robo")[n % 3]  # the holdout decides first: everyone after counts
        pre = rng.randrange(0, 12)
        # The robo arm returns more often, and pre-period activity predicts returning (CUPED has work to do).
        chance = 0.25 + 0.03 * pre + (0.15 if arm == "robo" else 0.0)
        returned = rng.random() < chance
        experiment = HOLDOUT if arm == "holdout" else EXPERIMENT
        prob = 0.2 if arm == "holdout" else 0.4
        at = START + timedelta(hours=n)
        await decide(database, customer, at, Assignment(experiment, arm, prob), pre, {30: outcome(returned)})
        expected[arm][0].append(int(returned))
        expected[arm][1].append(float(pre))
        if arm != "holdout":
            programme[0].append(int(returned))
            programme[1].append(float(pre))
        if n % 10 == 0:  # a later decision of the same customer is not their first exposure: not counted
            await decide(database, customer, at + timedelta(days=5), Assignment(experiment, arm, prob), 0,
                         {30: outcome(not returned)})  # fmt: skip
    # Customers outside any experiment count for the programme (against the holdout), not for the experiment;
    # a 7-day window, a pending window and a window from before the holdout existed count for nothing.
    for n in range(60):
        returned = n % 2 == 0
        await decide(database, f"N{n:03d}", START + timedelta(hours=n), None, 3, {30: outcome(returned)})
        programme[0].append(int(returned))
        programme[1].append(3.0)
    await decide(database, "P0", START + timedelta(days=1), Assignment(EXPERIMENT, "robo", 0.4), 1, {7: outcome(True)})
    await decide(database, "P1", START - timedelta(days=30), None, 1, {30: outcome(True)})

    staff = bearer("route:read")
    report = (await api.get(f"/v1/experiments/{EXPERIMENT}", headers=staff)).json()
    want = compare_arms(
        [ArmSample.from_customers(arm, *expected[arm]) for arm in ("control", "robo")], control="control"
    )
    arms = {a["arm"]: a for a in report["arms"]}
    assert report["control"] == "control" and report["window_days"] == 30 and report["outcome"] == "returned"
    assert (arms["control"]["customers"], arms["robo"]["customers"]) == (200, 200)
    assert arms["robo"]["successes"] == sum(expected["robo"][0])
    robo = want.arms[0]
    assert arms["robo"]["difference"]["estimate"] == pytest.approx(robo.raw.estimate)
    assert arms["robo"]["difference"]["interval"]["low"] == pytest.approx(robo.raw.interval.low)
    assert robo.adjusted is not None and report["theta"] == pytest.approx(want.theta)
    adjusted = arms["robo"]["adjusted_difference"]
    assert adjusted["estimate"] == pytest.approx(robo.adjusted.estimate)
    assert adjusted["interval"]["high"] - adjusted["interval"]["low"] < (
        arms["robo"]["difference"]["interval"]["high"] - arms["robo"]["difference"]["interval"]["low"]
    )  # pre-period activity predicts the outcome: CUPED narrows the interval
    assert arms["control"]["difference"] is None and arms["robo"]["power"]["required_per_arm"] > 200

    held = (await api.get(f"/v1/experiments/{HOLDOUT}", headers=staff)).json()
    want_held = compare_arms(
        [ArmSample.from_customers("holdout", *expected["holdout"]), ArmSample.from_customers("programme", *programme)]
    )
    held_arms = {a["arm"]: a for a in held["arms"]}
    assert held["control"] == "holdout"
    assert (held_arms["holdout"]["customers"], held_arms["programme"]["customers"]) == (200, 460)
    assert held_arms["programme"]["difference"]["estimate"] == pytest.approx(want_held.arms[0].raw.estimate)

    listed = {e["id"]: e for e in (await api.get("/v1/experiments", headers=staff)).json()}
    assert listed[EXPERIMENT]["status"] == "running" and listed[HOLDOUT]["kind"] == "holdout"
    assert [a["name"] for a in listed[EXPERIMENT]["arms"]] == ["control", "robo"]

    week = (await api.get(f"/v1/experiments/{EXPERIMENT}?window=7", headers=staff)).json()
    assert week["note"] is not None and {a["arm"]: a["customers"] for a in week["arms"]} == {"control": 0, "robo": 1}

    assert (await api.get("/v1/experiments/no-such-thing", headers=staff)).status_code == 404
    assert (await api.get(f"/v1/experiments/{EXPERIMENT}?window=14", headers=staff)).status_code == 422
    assert (await api.get(f"/v1/experiments/{EXPERIMENT}?control=nobody", headers=staff)).status_code == 422
    own = bearer("route:read:self", customer="R0001")
    assert (await api.get(f"/v1/experiments/{EXPERIMENT}", headers=own)).status_code == 403
    assert (await api.get(f"/v1/experiments/{EXPERIMENT}")).status_code == 401


async def test_the_make_run_demo_experiment_is_uploaded_through_the_api_and_counted_live(
    api: httpx.AsyncClient, database: AsyncEngine, settings: RoutingSettings
) -> None:
    from tierflow_cli.demo_experiment import (
        DEMO_EXPERIMENT,
        DEMO_HOLDOUT,
        DEMO_VERSION,
        demo_outcome_counts,
        upload_demo_policy,
    )

    started = await upload_demo_policy(str(api.base_url), SECRET)
    assert DEMO_EXPERIMENT in started and "not started" not in started
    active = (await api.get("/v1/policies/active", headers=bearer("route:read"))).json()
    assert active["version"] == DEMO_VERSION
    async with database.connect() as conn:
        assert await demo_outcome_counts(conn, schema=settings.db_schema) == "demo experiment: no decision yet"
    arms = {"control": (3, 1), "robo": (2, 2), "holdout": (4, 0)}  # decided, active since
    for arm, (decided, active_since) in arms.items():
        experiment = DEMO_HOLDOUT if arm == "holdout" else DEMO_EXPERIMENT
        for n in range(decided):
            at = datetime.now(UTC) - timedelta(hours=1)
            baseline = Baseline(
                decision_id=str(uuid.uuid4()),
                customer_id=f"{arm}-{n}",
                version=1,
                decided_at=at,
                flow="community",
                tier="C",
                experiment=Assignment(experiment, arm, 0.45 if arm != "holdout" else 0.1),
            )
            windows = open_windows(baseline, None, None)
            for window in windows:
                if n < active_since:
                    window.facts.first_login_at = at + timedelta(minutes=10)
            async with database.begin() as conn:
                await store.save_pending(conn, windows=windows)
    async with database.connect() as conn:
        line = await demo_outcome_counts(conn, schema=settings.db_schema)
    assert line == "active since decision control 1/3 holdout 0/4 robo 2/2"
