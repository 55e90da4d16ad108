"""The rate limiter with no Redis, then with a real one: it keeps limiting on its own counts, says
once that Redis is missing, and says when Redis answers."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from tierflow_common.cache import create_redis
from tierflow_common.infra.embedded import LOOPBACK, EmbeddedStack, free_port
from tierflow_common.web.ratelimit import RateLimited, RateLimiter
from tierflow_routing.api.security import Principal

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
        assert [k async for k in redis.scan_iter("t:tierflow:ratelimit:staff:*")], "the count reached Redis"
    finally:
        await limiter.close()
        await redis.aclose()
        stack.stop()
