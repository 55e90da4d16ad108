"""The rate limiter with no Redis, then with a real one: it keeps limiting on its own counts, says
once that Redis is missing, and says when Redis answers. Several processes on one Redis together stay
within 1.1 times the limit; a customer is one client whatever its sessions; requests without a valid
token are limited per address."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tierflow_common.cache import create_redis
from tierflow_common.infra.embedded import LOOPBACK, EmbeddedStack, free_port
from tierflow_common.web.ratelimit import RateLimited, RateLimiter
from tierflow_routing.api.security import Principal
from tierflow_testing.infra import Infra

pytestmark = pytest.mark.integration

APP = Principal("customer-app", frozenset({"route:read:self"}), "C1")
STAFF = Principal("staff", frozenset({"route:read"}), None)


async def test_without_redis_it_limits_on_its_own_counts_and_logs_the_outage_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens here yet
    redis = create_redis(f"redis://{LOOPBACK}:{port}/0")  # the client the API builds
    limiter = RateLimiter(redis, namespace="t:", customer_rps=3, staff_rps=100, flush_interval_s=3600)
    caplog.set_level(logging.INFO, logger="tierflow_common.web.ratelimit")
    stack = EmbeddedStack(workdir=tmp_path)
    try:
        if time.time() % 1 > 0.8:  # the four requests below must fall in one one-second window
            await asyncio.sleep(0.25)
        for _ in range(3):
            await limiter.check(APP)
        with pytest.raises(RateLimited):
            await limiter.check(APP)  # the fourth request in the same second, Redis or not
        for _ in range(5):
            await limiter.check(STAFF)  # something to send at every flush
            await limiter.flush()
        lost = [r for r in caplog.records if "cannot reach Redis" in r.getMessage()]
        assert len(lost) == 1 and lost[0].levelno == logging.WARNING

        stack.start_redis(port)
        await limiter.check(STAFF)
        await limiter.flush()
        back = [r for r in caplog.records if "reaches Redis again" in r.getMessage()]
        assert len(back) == 1
        # Keys name the client's kind since issue 11 (sub:, customer:, addr:).
        assert [k async for k in redis.scan_iter("t:tierflow:ratelimit:sub:staff:*")], "the count reached Redis"
    finally:
        await limiter.close()
        await redis.aclose()
        stack.stop()


@pytest.fixture
async def limiters(infra: Infra) -> AsyncIterator[list[RateLimiter]]:
    """Three API processes' limiters on one real Redis: customers 50/s, staff 200/s, 5/s without a token."""
    namespace = f"rl{uuid.uuid4().hex[:8]}:"
    clients = [create_redis(infra.redis_url) for _ in range(3)]
    found = [
        RateLimiter(redis, namespace=namespace, customer_rps=50, staff_rps=200, unauthenticated_rps=5)
        for redis in clients
    ]
    try:
        yield found
    finally:
        for limiter, redis in zip(found, clients, strict=True):
            await limiter.close()
            await redis.aclose()


async def admitted(limiter: RateLimiter, principal: Principal) -> bool:
    try:
        await limiter.check(principal)
    except RateLimited:
        return False
    return True


async def in_one_second(burst: object) -> list[bool]:
    """Run the burst (a coroutine factory) inside one wall-clock second, retrying if it straddled two."""
    for _ in range(3):
        await asyncio.sleep(1 - time.time() % 1 + 0.01)  # just after a second starts
        second = int(time.time())
        results: list[bool] = await burst()  # type: ignore[operator]
        if int(time.time()) == second:
            return results
    raise AssertionError("could not run the burst inside one second")


@pytest.mark.parametrize(("principal", "limit"), [(APP, 50), (STAFF, 200)], ids=["customer", "staff"])
async def test_several_processes_together_admit_at_most_1_1_times_the_limit(
    limiters: list[RateLimiter], principal: Principal, limit: int
) -> None:
    async def burst() -> list[bool]:
        # 4x the limit at once, spread over the three processes as a load balancer would.
        return await asyncio.gather(*(admitted(limiters[n % 3], principal) for n in range(4 * limit)))

    assert sum(await in_one_second(burst)) == limit  # all at once: each asks Redis, exact

    async def steady() -> list[bool]:
        # The same number spread over 0.4 s, so local budgets and flushes play their part.
        results: list[bool] = []
        for step in range(40):
            wave = range(step * limit // 10, (step + 1) * limit // 10)
            results += await asyncio.gather(*(admitted(limiters[n % 3], principal) for n in wave))
            await asyncio.sleep(0.01)
        return results

    results = await in_one_second(steady)
    assert limit * 0.9 <= sum(results) <= limit * 1.1, sum(results)


async def test_a_customer_is_one_client_whatever_its_sessions(limiters: list[RateLimiter]) -> None:
    sessions = [Principal(f"app-session-{n}", frozenset({"route:read:self"}), "C9") for n in range(5)]

    async def burst() -> list[bool]:
        return [await admitted(limiters[0], sessions[n % 5]) for n in range(100)]

    assert sum(await in_one_second(burst)) == 50  # five sessions, one customer: one limit
    other = Principal("app-session-0", frozenset({"route:read:self"}), "C10")
    assert await admitted(limiters[0], other)  # the same session id for another customer is another client


async def test_requests_without_a_valid_token_are_limited_per_address(limiters: list[RateLimiter]) -> None:
    async def burst() -> list[bool]:
        results = []
        for n in range(12):
            try:
                await limiters[n % 3].check_unauthenticated("203.0.113.7")
            except RateLimited:
                results.append(False)
            else:
                results.append(True)
        return results

    assert sum(await in_one_second(burst)) == 5
    await limiters[0].check_unauthenticated("203.0.113.8")  # another address has its own count
