"""Every endpoint of the routing API, every scope, overrides expiring, rate limits, Redis down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.cache import create_redis
from tierflow_common.infra.embedded import free_port
from tierflow_routing.adapters.route_cache import RouteCache, cache_key
from tierflow_routing.api.app import create_app
from tierflow_routing.domain.read_model import RouteRead
from tierflow_routing.settings import RoutingSettings
from tierflow_testing.http import serving
from tierflow_testing.kafka import wait_until
from tierflow_testing.plugin import Namespace

from .conftest import add_advisor, applied, bearer, publish_customer

pytestmark = pytest.mark.integration


async def routed(ns: Namespace, api: httpx.AsyncClient, customers: dict[str, str]) -> None:
    for customer_id, tier in customers.items():
        await publish_customer(ns, customer_id, tier, digital_logins_30d=10)

    async def ready() -> bool:
        for customer_id in customers:
            if (await api.get(f"/v1/customers/{customer_id}/route", headers=bearer("route:read"))).status_code != 200:
                return False
        return True

    await wait_until(ready, timeout_s=30, what="customers routed")


async def test_reads_with_staff_and_customer_tokens_and_nothing_for_anyone_else(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    await add_advisor(api, "ADV1")
    await routed(ns, api, {"K1": "A", "K2": "C"})
    staff = bearer("route:read")
    mine, other = bearer("route:read:self", customer="K1"), bearer("route:read:self", customer="K2")
    route = await api.get("/v1/customers/K1/route", headers=mine)
    assert route.status_code == 200 and route.json()["flow"] == "private_advisor"
    got = await api.get("/v1/customers/K1", headers=mine)
    assert got.status_code == 200, got.text
    view = got.json()
    assert (view["tier"], view["flow"], view["figures"]["digital_logins_30d"]) == ("A", "private_advisor", 10)
    for path in ("/v1/customers/K1/route", "/v1/customers/K1", "/v1/customers/K1/explain"):
        refused = await api.get(path, headers=other)
        assert refused.status_code == 403, path
        assert "K1" not in refused.text and "private_advisor" not in refused.text
    assert (await api.get("/v1/customers/K1/explain", headers=mine)).status_code == 403  # staff only
    explained = (await api.get("/v1/customers/K2/explain", headers=staff)).json()
    assert explained["matched_rule"]["name"] == "c_digital_robo" and explained["decided_by"] == "c_digital_robo"
    assert explained["score"]["tier"] == "C" and explained["facts"]["digital_logins_30d"] == 10
    for path in ("/v1/routes", "/v1/advisors", "/v1/policies/active"):
        assert (await api.get(path, headers=mine)).status_code == 403, path
        assert (await api.get(path)).status_code == 401, path
    assert (await api.get("/v1/customers/NOBODY", headers=staff)).status_code == 404
    assert (await api.get("/v1/customers/bad%20id/route", headers=staff)).status_code == 422


CHURN_INTERNALS = {"churn_band", "churn_score", "p_alive", "value_score", "signals", "reasons", "priority"}


async def test_a_customer_token_sees_its_route_and_a_customer_view_without_churn_internals(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    await add_advisor(api, "ADV1")
    await routed(ns, api, {"V1": "A"})
    mine, staff = bearer("route:read:self", customer="V1"), bearer("route:read")
    for _ in range(2):  # from PostgreSQL, then from the cache
        route = await api.get("/v1/customers/V1/route", headers=mine)
        assert route.status_code == 200, route.text
        assert set(route.json()) == {
            "customer_id", "decision_id", "version", "flow", "advisor_id", "active", "tier", "decided_at",
        }  # fmt: skip
        assert route.json()["flow"] == "private_advisor" and route.json()["advisor_id"] == "ADV1"
    full = (await api.get("/v1/customers/V1/route", headers=staff)).json()
    assert {"churn_band", "reasons", "priority", "policy_version"} <= set(full)
    view = (await api.get("/v1/customers/V1", headers=mine)).json()
    assert set(view) == {"customer_id", "tier", "flow", "figures"} and not CHURN_INTERNALS & set(view)
    assert view["figures"]["digital_logins_30d"] == 10
    assert {"churn_score", "p_alive", "signals", "churn_band"} <= set(
        (await api.get("/v1/customers/V1", headers=staff)).json()
    )


async def test_routes_are_listed_with_filters_and_cursors(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    await routed(ns, api, {f"L{n}": "C" for n in range(5)} | {"L9": "D"})
    staff = bearer("route:read")
    first = (await api.get("/v1/routes", params={"limit": 2, "tier": "C"}, headers=staff)).json()
    assert [r["customer_id"] for r in first["items"]] == ["L0", "L1"] and first["next_cursor"]
    second = (
        await api.get("/v1/routes", params={"limit": 2, "tier": "C", "cursor": first["next_cursor"]}, headers=staff)
    ).json()
    assert [r["customer_id"] for r in second["items"]] == ["L2", "L3"]
    dormant = (await api.get("/v1/routes", params={"flow": "reactivation"}, headers=staff)).json()
    assert [r["customer_id"] for r in dormant["items"]] == ["L9"] and dormant["next_cursor"] is None
    assert (await api.get("/v1/routes", params={"cursor": "!!"}, headers=staff)).status_code == 422
    nul = await api.get("/v1/routes", params={"cursor": "AAAA"}, headers=staff)  # decodes to NUL bytes
    assert (nul.status_code, nul.json()["error"]) == (422, "invalid_request")
    assert (await api.get("/v1/routes", params={"limit": 0}, headers=staff)).status_code == 422
    wrong_method = await api.delete("/v1/advisors/ADV1", headers=staff)
    assert (wrong_method.status_code, wrong_method.headers["Allow"]) == (405, "GET, PUT")


async def test_overrides_are_audited_visible_and_expire(ns: Namespace, worker: object, api: httpx.AsyncClient) -> None:
    await add_advisor(api, "ADV1", capacity=1)
    await add_advisor(api, "FULL", capacity=0)
    await routed(ns, api, {"O1": "D"})
    ops = bearer("route:override", subject="ops-17")
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    body = {
        "flow": "private_advisor",
        "advisor_id": "ADV1",
        "priority": "high",
        "reason": "family office review",
        "expires_at": soon,
    }
    assert (
        await api.put("/v1/customers/O1/route/override", json=body, headers=bearer("route:read"))
    ).status_code == 403
    full = await api.put("/v1/customers/O1/route/override", json={**body, "advisor_id": "FULL"}, headers=ops)
    assert full.status_code == 409 and "no free capacity" in full.json()["detail"]
    past = await api.put(
        "/v1/customers/O1/route/override", json={**body, "expires_at": "2020-01-01T00:00:00Z"}, headers=ops
    )
    assert past.status_code == 422
    done = await api.put("/v1/customers/O1/route/override", json=body, headers=ops)
    assert done.status_code == 200, done.text
    assert (done.json()["flow"], done.json()["advisor_id"], done.json()["priority"]) == (
        "private_advisor",
        "ADV1",
        "high",
    )
    explained = (await api.get("/v1/customers/O1/explain", headers=bearer("route:read"))).json()
    assert explained["decided_by"] == "staff_override" and explained["override"]["created_by"] == "ops-17"
    assert explained["override_history"][0]["action"] == "set"

    async def expired() -> bool:
        route = (await api.get("/v1/customers/O1/route", headers=bearer("route:read"))).json()
        return route["flow"] == "reactivation"

    await wait_until(expired, timeout_s=30, what="the override to expire")
    history = (await api.get("/v1/customers/O1/explain", headers=bearer("route:read"))).json()["override_history"]
    assert [h["action"] for h in history] == ["expired", "set"]
    assert (await api.get("/v1/advisors/ADV1", headers=bearer("route:read"))).json()["load"] == 0  # place given back
    # A second override, cleared by hand.
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await api.put(
        "/v1/customers/O1/route/override",
        json={**body, "advisor_id": None, "flow": "community", "expires_at": later},
        headers=ops,
    )
    cleared = await api.delete("/v1/customers/O1/route/override", headers=ops)
    assert cleared.status_code == 200 and cleared.json()["flow"] == "reactivation"
    assert (await api.delete("/v1/customers/O1/route/override", headers=ops)).status_code == 404


async def test_customer_tokens_are_rate_limited_with_retry_after(
    ns: Namespace, worker: object, api: httpx.AsyncClient, settings: RoutingSettings
) -> None:
    await routed(ns, api, {"R1": "C"})
    mine = bearer("route:read:self", customer="R1")
    strict = settings.model_copy(update={"rate_limit_customer_rps": 3})
    async with serving(create_app(strict)) as base, httpx.AsyncClient(base_url=base) as client:
        statuses = [(await client.get("/v1/customers/R1/route", headers=mine)) for _ in range(12)]
        staff = [(await client.get("/v1/customers/R1/route", headers=bearer("route:read"))) for _ in range(12)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert limited[0].headers["Retry-After"] == "1" and limited[0].json()["error"] == "rate_limited"
    assert {r.status_code for r in staff} == {200}  # staff tokens have their own, higher limit


async def test_the_api_keeps_answering_from_postgres_when_redis_is_down(
    ns: Namespace, worker: object, api: httpx.AsyncClient, settings: RoutingSettings
) -> None:
    await routed(ns, api, {"Z1": "B"})
    dead = settings.infra.model_copy(update={"redis_url": SecretStr(f"redis://127.0.0.1:{free_port()}/0")})
    async with (
        serving(create_app(settings.model_copy(update={"infra": dead}))) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        for _ in range(3):
            response = await client.get("/v1/customers/Z1/route", headers=bearer("route:read"))
            assert response.status_code == 200 and response.headers["X-Route-Source"] == "database"
            assert response.json()["flow"] == "robo_advisor"
        assert (await client.get("/readyz")).status_code == 200  # Redis is a cache, not a dependency
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await api.get(path)).status_code == 200


async def test_a_miss_is_filled_from_postgres_but_never_over_a_route_cached_meanwhile(
    ns: Namespace, worker: object, api: httpx.AsyncClient, settings: RoutingSettings, database: AsyncEngine
) -> None:
    await routed(ns, api, {"M1": "B"})
    await applied(database, "M1")
    redis = create_redis(settings.infra.redis_url.get_secret_value())
    cache = RouteCache(redis, ttl_s=60, namespace=settings.cache_namespace)
    read: list[httpx.Response] = []

    async def missed() -> bool:
        # The worker writes the cache just after each commit; until its last write is in, it may
        # refill the key the test empties. Empty it and read until the API is the one that fills it.
        await redis.delete(cache_key("M1", settings.cache_namespace))
        read.append(await api.get("/v1/customers/M1/route", headers=bearer("route:read")))
        return read[-1].headers["X-Route-Source"] == "database"

    try:
        await wait_until(missed, timeout_s=30, what="a read that misses the cache")
        again = await api.get("/v1/customers/M1/route", headers=bearer("route:read"))
        assert again.headers["X-Route-Source"] == "cache"  # the miss was written back
        assert again.json()["flow"] == read[-1].json()["flow"] == "robo_advisor"
        # The race the write-back must lose, for a customer the worker does not know: the API read
        # version 1 from PostgreSQL, and before it writes it back the worker has cached version 2.
        stored = RouteRead.model_validate({**read[-1].json(), "customer_id": "RACE1"})
        newer = RouteRead.model_validate({**read[-1].json(), "customer_id": "RACE1", "version": stored.version + 1})
        assert await cache.put_many([newer])
        assert await cache.put_many([stored], only_if_missing=True)
        cached = RouteRead.model_validate_json(await cache.get_raw("RACE1") or b"")
        assert cached.version == stored.version + 1
    finally:
        await redis.aclose()


async def test_the_decision_log_lists_every_decision_newest_first_with_its_cause_and_predecessor(
    ns: Namespace, worker: object, api: httpx.AsyncClient
) -> None:
    await add_advisor(api, "ADV1")
    await routed(ns, api, {"H1": "D"})
    ops = bearer("route:override", subject="ops-3")
    later = (datetime.now(UTC) + timedelta(days=5)).isoformat()
    body = {"flow": "private_advisor", "advisor_id": "ADV1", "reason": "keeps the relationship", "expires_at": later}
    assert (await api.put("/v1/customers/H1/route/override", json=body, headers=ops)).status_code == 200
    assert (await api.delete("/v1/customers/H1/route/override", headers=ops)).status_code == 200
    staff = bearer("route:read")
    log = (await api.get("/v1/customers/H1/decisions", headers=staff)).json()
    items = log["items"]
    assert [d["version"] for d in items] == [3, 2, 1] and log["next_before"] is None
    assert [(d["flow"], d["rule"]) for d in items] == [
        ("reactivation", "dormant_reactivation"),
        ("private_advisor", "staff_override"),
        ("reactivation", "dormant_reactivation"),
    ]
    assert items[1]["advisor_id"] == "ADV1" and items[1]["caused_by"] is None  # a person decided, no event
    assert items[2]["caused_by"] is not None and items[2]["supersedes"] is None  # the first decision, from a score
    assert [d["supersedes"] for d in items[:2]] == [items[1]["decision_id"], items[2]["decision_id"]]
    route = (await api.get("/v1/customers/H1/route", headers=staff)).json()
    assert route["decision_id"] == items[0]["decision_id"]  # the newest entry is the current route
    first = (await api.get("/v1/customers/H1/decisions", params={"limit": 2}, headers=staff)).json()
    assert [d["version"] for d in first["items"]] == [3, 2] and first["next_before"] == 2
    rest = (await api.get("/v1/customers/H1/decisions", params={"before": 2}, headers=staff)).json()
    assert [d["version"] for d in rest["items"]] == [1] and rest["next_before"] is None
    assert (
        await api.get("/v1/customers/H1/decisions", headers=bearer("route:read:self", customer="H1"))
    ).status_code == 403
    assert (await api.get("/v1/customers/NOBODY/decisions", headers=staff)).status_code == 404


async def test_advisor_writes_and_policy_activations_record_who_did_it(worker: object, api: httpx.AsyncClient) -> None:
    """As overrides always were: who, when, what; visible through the API (issue 11)."""
    created = await add_advisor(api, "AUD1", capacity=5)
    assert (created.json()["created_by"], created.json()["updated_by"]) == ("tester", "tester")
    boss = bearer("advisor:write", subject="ops-lead-2")
    base = {"branch": "futian", "region": "shenzhen", "licence_level": 5, "languages": ["zh"], "active": True}
    updated = await api.put("/v1/advisors/AUD1", json={**base, "capacity": 3}, headers=boss)
    assert (updated.json()["created_by"], updated.json()["updated_by"]) == ("tester", "ops-lead-2")
    history = (await api.get("/v1/advisors/AUD1/history", headers=bearer("route:read"))).json()
    assert [(h["action"], h["actor"]) for h in history] == [("updated", "ops-lead-2"), ("created", "tester")]
    assert history[0]["details"] == {"changed": {"capacity": {"from": 5, "to": 3}}}
    assert history[1]["details"]["capacity"] == 5
    assert (await api.get("/v1/advisors/NOBODY/history", headers=bearer("route:read"))).status_code == 404
    assert (await api.get("/v1/advisors/AUD1/history", headers=bearer("policy:write"))).status_code == 403

    first = "version: audit-1\nrules:\n  - name: default\n    then: {flow: community}\n"
    second = "version: audit-2\nrules:\n  - name: default\n    then: {flow: robo_advisor}\n"
    installed = (await api.get("/v1/policies/active", headers=bearer("route:read"))).json()["version"]
    for document, subject in ((first, "owner-1"), (second, "owner-2"), (first, "owner-3"), (first, "owner-3")):
        answer = await api.post(
            "/v1/policies", json={"yaml": document}, headers=bearer("policy:write", subject=subject)
        )
        assert answer.status_code == 201, answer.text
    policy_log = (await api.get("/v1/policies/history", headers=bearer("route:read"))).json()
    # Newest first; the last upload of the version already active changed nothing and is not an entry.
    assert [(h["subject_id"], h["action"], h["actor"], h["details"]["previous"]) for h in policy_log] == [
        ("audit-1", "reactivated", "owner-3", "audit-2"),  # a rollback
        ("audit-2", "uploaded", "owner-2", "audit-1"),
        ("audit-1", "uploaded", "owner-1", installed),
        (installed, "installed", "tierflow", None),  # the worker installed the shipped default
    ]
