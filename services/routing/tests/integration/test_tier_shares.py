"""Advisor places split by tier share on real PostgreSQL, and the waitlist ordered by value and risk.

2,000 customers with a realistic tier mix go through the application's assignment path (route_customer: the
reserving statement, the state and the routes) under a policy that sends everyone to an advisor; each region's
places end up within 2 points of 30/40/20/10, as GET /v1/advisors shows. The waitlist API shows the queue in
value x churn order with the figures, and the worker's sweeper promotes the top of it when a place frees up.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.events import topics
from tierflow_routing.adapters import customers, routes
from tierflow_routing.adapters.tables import routes as routes_table
from tierflow_routing.application import policies
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.routing import route_customer, snapshot
from tierflow_routing.bootstrap import build_api_dependencies
from tierflow_routing.domain.facts import CustomerState, ProfileFacts, ScoreFacts
from tierflow_routing.settings import RoutingSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import produce, wait_until
from tierflow_testing.plugin import Namespace

from .conftest import add_advisor, bearer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SHARES = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}
TIER_MIX = {"A": 0.08, "B": 0.22, "C": 0.50, "D": 0.20}
EVERYONE_TO_ADVISORS = """
version: shares-everyone-advisors
resources:
  advisor_places: {A: 0.3, B: 0.4, C: 0.2, D: 0.1}
waitlist: {order: value_times_risk}
rules:
  - {name: default, then: {flow: private_advisor}}
"""


@pytest.fixture
async def routing(settings: RoutingSettings) -> AsyncIterator[RoutingContext]:
    """The use cases' context, as the API builds it."""
    deps = build_api_dependencies(settings)
    try:
        yield deps.routing
    finally:
        await deps.close()


def population(n: int, seed: int) -> list[CustomerState]:
    rng = random.Random(seed)
    tiers = rng.choices(list(TIER_MIX), weights=list(TIER_MIX.values()), k=n)
    return [
        CustomerState(
            customer_id=f"S{i:05d}",
            profile=ProfileFacts(profile_version=1, region=rng.choice(["east", "west"]), risk_level="C3"),
            score=ScoreFacts(score_version=1, tier=tier, value_score=rng.random(), churn_score=rng.random()),
        )
        for i, tier in enumerate(tiers)
    ]


async def route_all(routing: RoutingContext, states: list[CustomerState], *, batch: int = 250) -> None:
    """What the worker does for a batch: decide each customer in one transaction, save states and routes."""
    policy = await policies.active_policy(routing)
    for start in range(0, len(states), batch):
        chunk = states[start : start + batch]
        async with routing.outbox.transaction() as tx:
            decided = []
            for state in chunk:
                if await route_customer(tx, state, policy, at=NOW, caused_by=None, topic=routing.decisions_topic):
                    decided.append(snapshot(state))
            await customers.STORE.save(tx.connection, chunk, now=NOW)
            await routes.save_routes(tx.connection, current=chunk, decided=decided, now=NOW)


async def test_shares_hold_within_two_points_for_2000_customers_on_postgres(
    routing: RoutingContext, api: httpx.AsyncClient, database: AsyncEngine
) -> None:
    await policies.upload_policy(routing, EVERYONE_TO_ADVISORS, actor="test")
    rng = random.Random(3)
    for region in ("east", "west"):
        for n in range(20):
            response = await add_advisor(api, f"{region}{n:02d}", region=region, capacity=rng.randint(3, 15))
            assert response.status_code == 201, response.text
    states = population(2000, seed=5)
    await route_all(routing, states)

    advisors = (await api.get("/v1/advisors", headers=bearer("route:read"))).json()
    used: dict[str, Counter[str]] = defaultdict(Counter)
    for a in advisors:
        assert a["load"] == a["capacity"] == sum(a["places_by_tier"].values()), a  # demand exceeds every share
        assert sum(a["used_by_tier"].values()) == a["load"], a
        assert all(a["used_by_tier"][t] <= a["places_by_tier"][t] for t in SHARES), a
        used[a["region"]].update(a["used_by_tier"])
    for region, counts in used.items():
        total = sum(counts.values())
        for tier, share in SHARES.items():
            assert abs(counts[tier] / total - share) <= 0.02, (region, tier, dict(counts), total)

    # The per-tier load is the routes that name the advisor, tier by tier.
    async with database.connect() as conn:
        rows = await conn.execute(
            select(routes_table.c.advisor_id, routes_table.c.tier, func.count())
            .where(routes_table.c.flow == "private_advisor")
            .group_by(routes_table.c.advisor_id, routes_table.c.tier)
        )
        routed = {(advisor_id, tier): n for advisor_id, tier, n in rows}
    assert all(routed.get((a["advisor_id"], t), 0) == a["used_by_tier"][t] for a in advisors for t in SHARES)

    # The waitlist: everyone else, value x churn first, each with its figures.
    page = (await api.get("/v1/waitlist", params={"region": "east", "limit": 1000}, headers=bearer())).json()
    east_places = sum(a["capacity"] for a in advisors if a["region"] == "east")
    east = [s for s in states if s.profile.region == "east"]
    assert page["order"] == "value_times_risk" and page["policy_version"] == "shares-everyone-advisors"
    assert page["total"] == len(east) - east_places and page["region"] == "east"
    priorities = [item["priority"] for item in page["items"]]
    assert priorities == sorted(priorities, reverse=True)
    first = page["items"][0]
    assert [item["position"] for item in page["items"][:3]] == [1, 2, 3]
    assert first["priority"] == pytest.approx(first["value_score"] * first["churn_score"])
    assert first["reason"].startswith(f"value score {first['value_score']:.3f} x churn probability")
    assert {item["region"] for item in page["items"]} == {"east"}
    everyone = (await api.get("/v1/waitlist", params={"limit": 5}, headers=bearer("advisor:write"))).json()
    assert everyone["total"] == 2000 - sum(a["capacity"] for a in advisors) and len(everyone["items"]) == 5

    # Simulating the policy in force changes nothing and shows the places and the load by tier.
    simulated = (await api.post("/v1/policies/simulate", json={"yaml": EVERYONE_TO_ADVISORS}, headers=bearer())).json()
    assert simulated["changed"] == 0 and simulated["advisor_shares"] == SHARES
    for load in simulated["advisor_load"]:
        assert load["load_after_by_tier"] == load["load_now_by_tier"]
        assert all(load["load_after_by_tier"][t] <= load["places_by_tier"][t] for t in SHARES)
    active = (await api.get("/v1/policies/active", headers=bearer("route:read"))).json()
    assert active["document"]["resources"]["advisor_places"] == SHARES


@pytest.mark.parametrize(
    ("params", "headers", "status", "detail"),
    [
        ({}, {}, 401, ""),
        ({}, bearer("route:read:self", customer="C1"), 403, "scope"),
        ({}, bearer("route:override"), 403, "scope"),
        ({"region": "east coast"}, bearer(), 422, "region"),
        ({"limit": 0}, bearer(), 422, "limit"),
        ({"limit": 1001}, bearer(), 422, "limit"),
    ],
)
async def test_the_waitlist_api_refuses_with_reasons(
    api: httpx.AsyncClient, params: dict[str, Any], headers: dict[str, str], status: int, detail: str
) -> None:
    response = await api.get("/v1/waitlist", params=params, headers=headers)
    assert response.status_code == status, response.text
    assert detail in response.text


async def publish(ns: Namespace, customer_id: str, tier: str, *, value: float, churn: float) -> None:
    now = datetime.now(UTC)
    profile = b.profile_updated(customer_id, 1, at=now, total_assets="100", last_trade_at=now, region="east")
    score = b.score_changed(customer_id, 1, tier, at=now, value_score=value, churn_score=churn)
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.PROFILE), [profile])
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.SCORE), [score])


async def route_of(api: httpx.AsyncClient, customer_id: str) -> dict[str, Any] | None:
    response = await api.get(f"/v1/customers/{customer_id}/route", headers=bearer("route:read"))
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


async def test_a_tier_over_its_share_waits_and_a_freed_place_goes_to_the_top_of_the_queue(
    ns: Namespace, worker: RoutingSettings, api: httpx.AsyncClient
) -> None:
    upload = await api.post("/v1/policies", json={"yaml": EVERYONE_TO_ADVISORS}, headers=bearer("policy:write"))
    assert upload.status_code == 201, upload.text
    assert (await add_advisor(api, "E1", region="east", capacity=10)).status_code == 201  # A 3, B 4, C 2, D 1
    arrivals = [("HOLD1", 0.1), ("HOLD2", 0.1), ("HOLD3", 0.1), ("LOW", 0.1), ("MID", 0.4), ("TOP", 0.9)]
    for customer_id, churn in arrivals:  # one at a time: the first three take A's three places
        await publish(ns, customer_id, "A", value=0.8, churn=churn)

        async def routed(customer_id: str = customer_id) -> bool:
            return await route_of(api, customer_id) is not None

        await wait_until(routed, timeout_s=30, what=f"{customer_id} routed")
    flows = {c: (await route_of(api, c) or {}).get("flow") for c, _ in arrivals}
    assert flows == {"HOLD1": "private_advisor", "HOLD2": "private_advisor", "HOLD3": "private_advisor",
                     "LOW": "robo_advisor", "MID": "robo_advisor", "TOP": "robo_advisor"}  # fmt: skip
    advisor = (await api.get("/v1/advisors/E1", headers=bearer("route:read"))).json()
    assert (advisor["load"], advisor["used_by_tier"]["A"], advisor["places_by_tier"]["A"]) == (3, 3, 3)  # 7 free
    queue = (await api.get("/v1/waitlist", params={"region": "east"}, headers=bearer())).json()["items"]
    assert [item["customer_id"] for item in queue] == ["TOP", "MID", "LOW"]  # last to arrive, first in line
    assert "value score 0.800 x churn probability 0.900 = 0.7200" in queue[0]["reason"]

    assert (await add_advisor(api, "E1", region="east", capacity=12)).status_code == 200  # A gets a 4th place

    async def promoted() -> bool:
        return (await route_of(api, "TOP") or {}).get("flow") == "private_advisor"

    await wait_until(promoted, timeout_s=30, what="the top of the queue promoted")
    assert [(await route_of(api, c) or {}).get("flow") for c in ("MID", "LOW")] == ["robo_advisor"] * 2
    queue = (await api.get("/v1/waitlist", headers=bearer())).json()["items"]
    assert [item["customer_id"] for item in queue] == ["MID", "LOW"]


async def test_a_customer_who_changes_tier_keeps_the_advisor_and_the_place_counts_under_the_new_tier(
    routing: RoutingContext, api: httpx.AsyncClient
) -> None:
    await policies.upload_policy(routing, EVERYONE_TO_ADVISORS, actor="test")
    assert (await add_advisor(api, "E1", region="east", capacity=10)).status_code == 201  # A 3, B 4, C 2, D 1
    movers = population(3, seed=1)
    for state in movers:
        state.score = ScoreFacts(score_version=1, tier="A", value_score=0.5, churn_score=0.5)
        state.profile.region = "east"
    await route_all(routing, movers)
    for state in movers:  # all three fall to D: one place for D, yet nobody is moved
        state.score = ScoreFacts(score_version=2, tier="D", value_score=0.1, churn_score=0.5)
    await route_all(routing, movers)
    advisor = (await api.get("/v1/advisors/E1", headers=bearer())).json()
    assert advisor["load"] == 3
    assert advisor["used_by_tier"] == {"A": 0, "B": 0, "C": 0, "D": 3}  # over D's one place: sticky
    assert all(state.route is not None and state.route.advisor_id == "E1" for state in movers)
    newcomer = population(1, seed=2)[0]
    newcomer.score = ScoreFacts(score_version=1, tier="D", value_score=0.9, churn_score=0.9)
    newcomer.profile.region = "east"
    await route_all(routing, [newcomer])
    assert newcomer.route is not None and newcomer.route.flow == "robo_advisor"  # D is over its places
    assert newcomer.waitlisted_since is not None
