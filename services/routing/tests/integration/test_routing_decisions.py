"""The routing worker on the real broker, PostgreSQL and Redis: decisions, advisors, waitlist, policies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.events import RoutingDecided, decode_event, topics
from tierflow_routing.adapters import customers
from tierflow_testing.kafka import read_topic, wait_until
from tierflow_testing.plugin import Namespace

from .conftest import add_advisor, applied, bearer, publish_customer, state_of

pytestmark = pytest.mark.integration


async def route_of(api: httpx.AsyncClient, customer_id: str) -> dict:  # type: ignore[type-arg]
    response = await api.get(f"/v1/customers/{customer_id}/route", headers=bearer("route:read"))
    return response.json() if response.status_code == 200 else {}


async def decisions(ns: Namespace, *, min_count: int = 0) -> list[RoutingDecided]:
    records = await read_topic(ns.infra.kafka_bootstrap, ns.topics.name(topics.ROUTING), min_count=min_count)
    events = [decode_event(r.value, key=r.key, base_topic=topics.ROUTING) for r in records]
    # Delivery is at least once: the outbox relay may publish a message again (consumers dedupe by event_id).
    unique = {e.event_id: e for e in events}.values()
    return sorted(unique, key=lambda e: (e.customer_id, e.payload.version))  # type: ignore[union-attr,return-value]


async def eventually(predicate, what: str, timeout_s: float = 30) -> None:  # type: ignore[no-untyped-def]
    await wait_until(predicate, timeout_s=timeout_s, what=what)


async def test_a_customers_flow_follows_the_policy_with_its_supersedes_chain(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    assert (await add_advisor(api, "ADV1")).status_code == 201
    await publish_customer(ns, "C1", "C")

    async def in_community() -> bool:
        return (await route_of(api, "C1")).get("flow") == "community"

    await eventually(in_community, "C1 in community")
    await publish_customer(ns, "C1", "A", version=2, band="high")

    async def with_advisor() -> bool:
        route = await route_of(api, "C1")
        return route.get("flow") == "private_advisor" and route.get("priority") == "urgent"

    await eventually(with_advisor, "C1 with an advisor, urgently")
    route = await route_of(api, "C1")
    assert route["advisor_id"] == "ADV1" and route["tier"] == "A" and route["churn_band"] == "high"
    assert [r["code"] for r in route["reasons"]][:2] == ["rule_a_at_risk_retention", "retention_alert"]
    published = [d for d in await decisions(ns, min_count=2) if d.customer_id == "C1"]
    assert published[-1].payload.flow.value == "private_advisor"
    assert published[-1].payload.supersedes == published[-2].payload.decision_id
    assert published[-1].payload.rule == "a_at_risk_retention"
    advisors = (await api.get("/v1/advisors", headers=bearer("route:read"))).json()
    assert [(a["advisor_id"], a["load"], a["free"]) for a in advisors] == [("ADV1", 1, 9)]


async def test_without_capacity_customers_wait_on_robo_and_move_up_oldest_first(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    await add_advisor(api, "ADV1", capacity=1)
    for n, customer_id in enumerate(("W1", "W2", "W3")):
        await publish_customer(ns, customer_id, "A")
        await asyncio.sleep(0.3 if n == 0 else 0.05)  # W1 first, then the other two

    async def all_routed() -> bool:
        routes = [await route_of(api, c) for c in ("W1", "W2", "W3")]
        return all(r.get("flow") in ("private_advisor", "robo_advisor") for r in routes)

    await eventually(all_routed, "all three routed")
    routes = {c: await route_of(api, c) for c in ("W1", "W2", "W3")}
    with_advisor = [c for c, r in routes.items() if r["flow"] == "private_advisor"]
    waiting = [c for c, r in routes.items() if r["flow"] == "robo_advisor"]
    assert len(with_advisor) == 1 and len(waiting) == 2
    for customer_id in waiting:
        assert "advisor_capacity_exhausted" in [r["code"] for r in routes[customer_id]["reasons"]]
    since = {}
    for customer_id in waiting:
        explained = await api.get(f"/v1/customers/{customer_id}/explain", headers=bearer("route:read"))
        since[customer_id] = explained.json()["waitlisted_since"]
    oldest = min(waiting, key=lambda c: (since[c], c))
    # Capacity frees up: one more place goes to the longest-waiting customer.
    await add_advisor(api, "ADV1", capacity=2)

    async def one_promoted() -> bool:
        flows = [(await route_of(api, c)).get("flow") for c in waiting]
        return flows.count("private_advisor") == 1

    await eventually(one_promoted, "one waiting customer promoted")
    assert (await route_of(api, oldest))["flow"] == "private_advisor", f"not the oldest of {since}"
    advisor = (await api.get("/v1/advisors/ADV1", headers=bearer("route:read"))).json()
    assert (advisor["load"], advisor["capacity"], advisor["free"]) == (2, 2, 0)


async def test_a_closed_account_is_taken_out_of_every_flow(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    await publish_customer(ns, "X1", "B")

    async def robo() -> bool:
        return (await route_of(api, "X1")).get("flow") == "robo_advisor"

    await eventually(robo, "X1 on robo")
    await publish_customer(ns, "X1", "B", version=2, closed=True)

    async def closed() -> bool:
        return (await route_of(api, "X1")).get("active") is False

    await eventually(closed, "X1 closed")
    assert (await route_of(api, "X1"))["reasons"][0]["code"] == "account_closed"


async def test_uploading_a_policy_re_routes_everyone_and_simulation_applies_nothing(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    for customer_id in ("P1", "P2"):
        await publish_customer(ns, customer_id, "B")

    async def both_robo() -> bool:
        routes = [await route_of(api, c) for c in ("P1", "P2")]
        return all(r.get("flow") == "robo_advisor" for r in routes)

    await eventually(both_robo, "P1 and P2 on robo")
    everyone_community = (
        "version: all-community-1\ndescription: test\nrules:\n  - name: default\n    then: {flow: community}\n"
    )
    preview = await api.post("/v1/policies/simulate", json={"yaml": everyone_community}, headers=bearer("policy:write"))
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["moves"]["robo_advisor"]["community"] == 2 and body["changed"] == 2
    assert (await route_of(api, "P1"))["flow"] == "robo_advisor"  # nothing applied
    broken = await api.post("/v1/policies", json={"yaml": "version: x\nrules: []\n"}, headers=bearer("policy:write"))
    assert broken.status_code == 422 and "rules" in broken.json()["detail"]
    uploaded = await api.post("/v1/policies", json={"yaml": everyone_community}, headers=bearer("policy:write"))
    assert uploaded.status_code == 201
    assert (await api.get("/v1/policies/active", headers=bearer("route:read"))).json()["version"] == "all-community-1"

    async def both_community() -> bool:
        routes = [await route_of(api, c) for c in ("P1", "P2")]
        return all(r.get("flow") == "community" and r.get("policy_version") == "all-community-1" for r in routes)

    await eventually(both_community, "everyone re-routed under the new policy")
    clash = everyone_community.replace("description: test", "description: other")
    conflict = await api.post("/v1/policies", json={"yaml": clash}, headers=bearer("policy:write"))
    assert conflict.status_code == 409


async def test_a_waiting_customer_given_an_advisor_by_override_leaves_the_waitlist_and_the_sweeper_rests(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    await add_advisor(api, "ADV1", capacity=1)
    await publish_customer(ns, "Q1", "A")
    await eventually(lambda: _flow_is(api, "Q1", "private_advisor"), "Q1 with ADV1")
    await publish_customer(ns, "Q2", "A")
    await eventually(lambda: _flow_is(api, "Q2", "robo_advisor"), "Q2 waiting on robo")
    # A second advisor with two places; staff give Q2 one of them by override: one place stays free.
    await add_advisor(api, "ADV2", capacity=2)
    body = {
        "flow": "private_advisor",
        "advisor_id": "ADV2",
        "reason": "relationship manager request",
        "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }
    response = await api.put("/v1/customers/Q2/route/override", json=body, headers=bearer("route:override"))
    assert response.status_code == 200, response.text
    explained = (await api.get("/v1/customers/Q2/explain", headers=bearer("route:read"))).json()
    assert explained["waitlisted_since"] is None
    # With a free place and nobody eligible waiting, the sweeper has nothing to review again and again.
    before = _reviewed()
    await asyncio.sleep(2)
    assert _reviewed() - before < 5, "the sweeper keeps re-reviewing customers it cannot place"


async def _flow_is(api: httpx.AsyncClient, customer_id: str, flow: str) -> bool:
    return (await route_of(api, customer_id)).get("flow") == flow


def _reviewed() -> float:
    return REGISTRY.get_sample_value("tierflow_sweeper_reviewed_total", {"service": "routing"}) or 0.0


async def test_an_advisor_deactivated_or_moved_away_hands_their_customers_on_at_the_next_sweep(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    await add_advisor(api, "ADV1", capacity=5)
    await publish_customer(ns, "M1", "A")
    await eventually(lambda: _advisor_is(api, "M1", "ADV1"), "M1 with ADV1")
    await add_advisor(api, "ADV2", capacity=5)
    assert (await add_advisor(api, "ADV2", capacity=6)).status_code == 200  # more room: nobody moves
    assert (await add_advisor(api, "ADV1", capacity=5, active=False)).status_code == 200
    await eventually(lambda: _advisor_is(api, "M1", "ADV2"), "M1 handed on to ADV2")
    # ADV2 moves to another region: nobody eligible is left, so M1 waits on robo-advisor.
    assert (await add_advisor(api, "ADV2", capacity=6, region="beijing")).status_code == 200
    await eventually(lambda: _flow_is(api, "M1", "robo_advisor"), "M1 waiting on robo")
    route = await route_of(api, "M1")
    assert route["advisor_id"] is None
    assert "advisor_capacity_exhausted" in [r["code"] for r in route["reasons"]]
    explained = (await api.get("/v1/customers/M1/explain", headers=bearer("route:read"))).json()
    assert explained["waitlisted_since"] is not None
    advisors = (await api.get("/v1/advisors", headers=bearer("route:read"))).json()
    assert [(a["advisor_id"], a["load"]) for a in advisors] == [("ADV1", 0), ("ADV2", 0)]
    published = [d for d in await decisions(ns, min_count=3) if d.customer_id == "M1"]
    moves = [(d.payload.flow.value, d.payload.advisor_id) for d in published]
    assert [m for n, m in enumerate(moves) if n == 0 or m != moves[n - 1]] == [
        ("private_advisor", "ADV1"),
        ("private_advisor", "ADV2"),
        ("robo_advisor", None),
    ]


async def _advisor_is(api: httpx.AsyncClient, customer_id: str, advisor_id: str) -> bool:
    return (await route_of(api, customer_id)).get("advisor_id") == advisor_id


async def test_customers_a_new_policy_leaves_in_place_are_not_due_again_at_the_next_start(
    ns: Namespace, worker: object, api: httpx.AsyncClient, database: AsyncEngine
) -> None:
    await publish_customer(ns, "N1", "B")
    await applied(database, "N1")
    before = await route_of(api, "N1")
    assert (before["flow"], before["priority"]) == ("robo_advisor", "normal")  # what all-robo-1 decides too
    everyone_robo = (
        "version: all-robo-1\ndescription: test\nrules:\n  - name: default\n    then: {flow: robo_advisor}\n"
    )
    uploaded = await api.post("/v1/policies", json={"yaml": everyone_robo}, headers=bearer("policy:write"))
    assert uploaded.status_code == 201, uploaded.text

    async def evaluated_under_the_new_policy() -> bool:
        state = await state_of(database, "N1")
        return state is not None and state.evaluated_policy == "all-robo-1"

    await eventually(evaluated_under_the_new_policy, "N1 evaluated under all-robo-1")
    after = await route_of(api, "N1")
    assert after["version"] == before["version"]  # no new decision ...
    assert after["policy_version"] == before["policy_version"] != "all-robo-1"  # ... nor a new deciding version
    async with database.begin() as conn:  # what every worker and API start does with the active policy
        due = await customers.mark_outdated_due(conn, policy_version="all-robo-1", at=datetime.now(UTC))
    assert due == 0
