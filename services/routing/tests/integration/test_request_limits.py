"""Abuse at the door of the routing API: bodies over the limit (413) and callers without a valid token (401)
are refused before the body is read, the connection closed, whatever the body's size or framing."""

from __future__ import annotations

import time

import httpx
import pytest

from tierflow_routing.api.app import create_app
from tierflow_routing.settings import RoutingSettings
from tierflow_testing.http import post_until_answered, serving

from .conftest import bearer

pytestmark = pytest.mark.integration

HUNDRED_MB = 100 * 1024 * 1024
# What may sit in socket buffers (client and server, loopback) before a server that is not reading
# answers; a server that reads the body before answering gets all 100 MB.
BUFFERED = 16 * 1024 * 1024


async def test_an_unauthenticated_100_mb_upload_is_refused_with_401_before_it_is_read(
    settings: RoutingSettings,
) -> None:
    async with serving(create_app(settings)) as base:
        answer = await post_until_answered(base, "/v1/policies", total=HUNDRED_MB)
        bad_token = await post_until_answered(
            base, "/v1/policies", total=HUNDRED_MB, chunked=True, headers={"Authorization": "Bearer not-a-jwt"}
        )
    for refused in (answer, bad_token):
        assert refused.status == 401, refused.head
        assert refused.sent < BUFFERED, f"the server read {refused.sent} of {refused.total} bytes before answering"
        assert "connection: close" in refused.head.lower() and "www-authenticate" in refused.head.lower()
        assert b'"error":"unauthorized"' in refused.body


async def test_a_body_over_the_limit_is_refused_with_413_declared_or_as_it_arrives(settings: RoutingSettings) -> None:
    writer = bearer("policy:write")
    async with serving(create_app(settings)) as base:
        declared = await post_until_answered(base, "/v1/policies", total=HUNDRED_MB, headers=writer)
        streamed = await post_until_answered(base, "/v1/policies", total=HUNDRED_MB, headers=writer, chunked=True)
        advisor = await post_until_answered(
            base, "/v1/advisors/ADV1", method="PUT", total=HUNDRED_MB, headers=bearer("advisor:write"), chunked=True
        )
    for refused in (declared, streamed, advisor):
        assert refused.status == 413, refused.head
        assert refused.sent < BUFFERED, f"the server read {refused.sent} of {refused.total} bytes before answering"
        assert "connection: close" in refused.head.lower()
        assert b'"error":"payload_too_large"' in refused.body


async def test_the_limits_are_configurable_and_the_policy_upload_has_a_larger_one(settings: RoutingSettings) -> None:
    small = settings.model_copy(update={"api_max_body_bytes": 2048, "api_max_policy_body_bytes": 8192})
    advisor = {"branch": "b" * 60, "region": "r", "capacity": 1, "licence_level": 1, "languages": ["zh"] * 10}
    policy = {"yaml": "version: v\nrules:\n  - name: default\n    then: {flow: community}\n" + "#" * 4000}
    async with serving(create_app(small)) as base, httpx.AsyncClient(base_url=base) as client:
        fits = await client.put("/v1/advisors/ADV1", json=advisor, headers=bearer("advisor:write"))
        assert fits.status_code == 201, fits.text
        too_big = await client.put(
            "/v1/advisors/ADV1", json={**advisor, "branch": "b" * 3000}, headers=bearer("advisor:write")
        )
        assert (too_big.status_code, too_big.json()["error"]) == (413, "payload_too_large")
        assert "2048 bytes" in too_big.json()["detail"]
        uploaded = await client.post("/v1/policies", json=policy, headers=bearer("policy:write"))
        assert uploaded.status_code == 201, uploaded.text  # 4 KB: over the default limit, within the policy one


async def test_requests_without_a_valid_token_are_limited_per_address(settings: RoutingSettings) -> None:
    strict = settings.model_copy(update={"rate_limit_unauthenticated_rps": 3})
    async with serving(create_app(strict)) as base, httpx.AsyncClient(base_url=base) as client:
        bad = {"Authorization": "Bearer not-a-jwt"}
        answers = [await client.get("/v1/routes", headers=bad) for _ in range(8)]
        statuses = [a.status_code for a in answers]
        assert statuses.count(401) <= 3 * 2 and 429 in statuses, statuses  # at most 3 per second
        limited = next(a for a in answers if a.status_code == 429)
        assert limited.headers["Retry-After"] == "1" and limited.json()["error"] == "rate_limited"
        staff = await client.get("/v1/routes", headers=bearer("route:read"))
        assert staff.status_code == 200  # a valid token is not held back by the address's failures


@pytest.mark.parametrize(
    "document",
    [
        "version: v\nrules: " + "[" * 99_000 + "]" * 99_000 + "\n",  # was a RecursionError: 500
        "version: v\nx: &a [y, y, y, y, y, y, y, y, y]\n"
        + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
        + "rules:\n  - name: default\n    then: {flow: community}\n",  # a billion laughs
    ],
    ids=["deep nesting", "aliases"],
)
async def test_a_hostile_policy_is_refused_with_422_in_under_a_second(settings: RoutingSettings, document: str) -> None:
    async with serving(create_app(settings)) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        for path in ("/v1/policies", "/v1/policies/simulate"):
            started = time.perf_counter()
            answer = await client.post(path, json={"yaml": document}, headers=bearer("policy:write"))
            elapsed = time.perf_counter() - started
            assert (answer.status_code, answer.json()["error"]) == (422, "invalid_request"), answer.text[:300]
            assert "not valid YAML" in answer.json()["detail"]
            assert elapsed < 1.0, f"{path} took {elapsed:.2f}s"  # the bound; about 0.2 s here
