"""Per-client rate limiting shared by every API worker: one-second windows counted in Redis.

Redis is off the request path. Each worker counts its own requests per (client, second) in memory
and decides at once against what it knows: its own count plus the other workers' counts as of the
last flush. A background task adds the local counts to Redis (INCRBY, one pipeline) every
`flush_interval_s` and learns the global totals from the replies. So one worker alone enforces
the limit exactly, and several workers together may let a client exceed it by what the others
admitted in the last flush interval (50 ms by default).

Customer tokens and staff tokens have their own limits. If Redis is unavailable each worker keeps
limiting on its own counts: the route keeps being served, and Redis being down is already alarmed.
The limiter logs when it loses Redis and when it reaches it again, not on every failed flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tierflow_common.auth import Principal

log = logging.getLogger(__name__)

Window = tuple[str, int]  # (client subject, unix second)


class RateLimited(Exception):
    """The client went over its limit; retry after `retry_after` seconds (HTTP 429)."""

    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(f"rate limit of {limit} requests per second exceeded")
        self.retry_after = retry_after
        self.limit = limit


class RateLimiter:
    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str,
        customer_rps: int,
        staff_rps: int,
        flush_interval_s: float = 0.05,
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._customer_rps = customer_rps
        self._staff_rps = staff_rps
        self._flush_interval_s = flush_interval_s
        self._pending: defaultdict[Window, int] = defaultdict(int)  # counted here, not yet sent to Redis
        self._in_flight: dict[Window, int] = {}  # sent to Redis, reply not yet back
        self._known: dict[Window, int] = {}  # the global count Redis reported at the last flush
        self._flusher: asyncio.Task[None] | None = None
        self._unreachable = False  # Redis failed at the last flush: logged once, not on every flush

    def limit_for(self, principal: Principal) -> int:
        """A customer's own token (only `...:self` scopes) gets the customer limit; staff and services the other."""
        customer_only = principal.customer_id is not None and all(s.endswith(":self") for s in principal.scopes)
        return self._customer_rps if customer_only else self._staff_rps

    async def check(self, principal: Principal) -> None:
        """Count one request for the principal; RateLimited when over the limit this second."""
        window = (principal.subject, int(time.time()))
        self._pending[window] += 1
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_forever(), name="rate-limit-flush")
        limit = self.limit_for(principal)
        seen = self._known.get(window, 0) + self._in_flight.get(window, 0) + self._pending[window]
        if seen > limit:
            raise RateLimited(retry_after=1, limit=limit)

    async def flush(self) -> None:
        """Add the local counts to Redis and learn the global totals; forget windows that have passed."""
        pending, self._pending = self._pending, defaultdict(int)
        current = int(time.time())
        self._known = {w: n for w, n in self._known.items() if w[1] >= current - 1}
        if not pending:
            return
        self._in_flight = dict(pending)
        windows = list(pending)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for subject, second in windows:
                    key = f"{self._namespace}tierflow:ratelimit:{subject}:{second}"
                    pipe.incrby(key, pending[(subject, second)])
                    pipe.expire(key, 2)
                replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            # Keep limiting on this worker's own counts until Redis answers again.
            for window, count in pending.items():
                self._known[window] = self._known.get(window, 0) + count
            self._in_flight = {}
            if not self._unreachable:
                self._unreachable = True
                log.warning(
                    "rate limiter cannot reach Redis: limiting on this worker's counts until it answers",
                    extra={"error": type(exc).__name__},
                )
            return
        if self._unreachable:
            self._unreachable = False
            log.info("rate limiter reaches Redis again")
        for window, total in zip(windows, replies[::2], strict=True):
            if window[1] >= current - 1:
                self._known[window] = int(total)
        self._in_flight = {}

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            await self.flush()

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        with contextlib.suppress(RedisError, OSError):
            await self.flush()
