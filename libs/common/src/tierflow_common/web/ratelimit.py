"""Per-client rate limiting shared by every API process: one-second windows counted in Redis.

Who a client is: a customer's own token is its `customer_id` (however many app sessions, each with
its own `sub`, the customer has), any other token its `sub`, and a request without a valid token its
address (so a flood of bad tokens is answered 429 instead of each costing a verification and a 401).

Most requests never wait for Redis. Each process counts requests per (client, second) in memory; a
background task adds the counts to Redis every `flush_interval_s` (INCRBY, one pipeline) and learns
the global totals. A request is decided:

- refused at once when Redis already reported the limit spent for this client and second;
- admitted at once while this process has admitted fewer than its *local budget* of requests for the
  client in this second without asking Redis;
- otherwise by asking Redis: INCRBY this process's unsent count, admitted if its place in the count is
  within the limit. INCRBY is atomic, so every process asking sees every request counted before it.
  Requests that ask while a round trip is in flight go together in the next one.

The local budget is `overshoot` (10%) of the limit shared by the processes alive (each registers in
Redis, in a sorted set refreshed every second), rounded down. Requests admitted after asking Redis
never exceed the limit together, and at most one local budget per process is admitted without
asking, so all processes together admit at most `limit * (1 + overshoot)` per client and second. A
process that does not know yet how many others there are has no local budget. With a small limit
and several processes the budget is 0: every request asks Redis.

If Redis is unavailable each process keeps limiting on its own counts (the global count it last
heard of plus its own since, against the whole limit): the API keeps answering, and
Redis being down is already alarmed. The limiter logs when it loses Redis and when it reaches it
again, not on every failed flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tierflow_common.auth import Principal
from tierflow_common.metrics import API_RATE_LIMIT_WINDOWS

log = logging.getLogger(__name__)

Window = tuple[str, int]  # (client key, unix second)
HEARTBEAT_S = 1.0  # how often a process says it is alive
INSTANCE_TTL_S = 3.0  # a process silent this long no longer shares the budget
CLOSE_TIMEOUT_S = 2.0


class RateLimited(Exception):
    """The client went over its limit; retry after `retry_after` seconds (HTTP 429)."""

    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(f"rate limit of {limit} requests per second exceeded")
        self.retry_after = retry_after
        self.limit = limit


class RateLimiter:
    """Per-client limits of one API process, shared with the others through Redis (see the module)."""

    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str,
        customer_rps: int,
        staff_rps: int,
        unauthenticated_rps: int = 10,
        flush_interval_s: float = 0.05,
        overshoot: float = 0.1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = f"{namespace}tierflow:ratelimit:"
        self._customer_rps = customer_rps
        self._staff_rps = staff_rps
        self._unauthenticated_rps = unauthenticated_rps
        self._flush_interval_s = flush_interval_s
        self._overshoot = overshoot
        self._clock = clock
        self._instance = uuid.uuid4().hex
        self._instances: int | None = None  # processes sharing the limits, as Redis last said
        self._heartbeat_at = float("-inf")
        self._pending: defaultdict[Window, int] = defaultdict(int)  # counted here, not yet sent to Redis
        self._in_flight: defaultdict[Window, int] = defaultdict(int)  # sent to Redis, reply not yet back
        self._known: dict[Window, int] = {}  # the global count Redis reported last
        self._local: defaultdict[Window, int] = defaultdict(int)  # admitted here without asking Redis
        self._asks: dict[Window, list[tuple[asyncio.Future[bool], int]]] = {}  # waiting for the next round trip
        self._asking: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._unreachable = False  # Redis failed last time: logged once, not on every flush

    @staticmethod
    def is_customer(principal: Principal) -> bool:
        """A customer's own app token: a customer_id claim and only `...:self` scopes."""
        return principal.customer_id is not None and all(s.endswith(":self") for s in principal.scopes)

    def key_for(self, principal: Principal) -> str:
        """Whose count a request goes to: the customer for a customer's token, else the token's subject."""
        return f"customer:{principal.customer_id}" if self.is_customer(principal) else f"sub:{principal.subject}"

    def limit_for(self, principal: Principal) -> int:
        """A customer's own token gets the customer limit; staff and services the other."""
        return self._customer_rps if self.is_customer(principal) else self._staff_rps

    def local_budget(self, limit: int) -> int:
        """Requests per client and second this process may admit without asking Redis."""
        if self._instances is None:
            return 0
        return int(limit * self._overshoot / max(1, self._instances))

    async def check(self, principal: Principal) -> None:
        """Count one request of a verified caller; RateLimited when over its limit this second."""
        await self._count(self.key_for(principal), self.limit_for(principal))

    async def check_unauthenticated(self, address: str) -> None:
        """Count one request without a valid token from `address`; RateLimited when over that limit."""
        await self._count(f"addr:{address}", self._unauthenticated_rps)

    async def _count(self, key: str, limit: int) -> None:
        window = (key, int(self._clock()))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_forever(), name="rate-limit-flush")
        self._pending[window] += 1
        if self._known.get(window, 0) >= limit:  # Redis said the limit is spent: no need to ask again
            raise RateLimited(retry_after=1, limit=limit)
        if self._unreachable:  # this process's own counts are all it has
            if self._seen(window) > limit:
                raise RateLimited(retry_after=1, limit=limit)
            return
        if self._local[window] < self.local_budget(limit):
            self._local[window] += 1
            return
        if not await self._ask(window, limit):
            raise RateLimited(retry_after=1, limit=limit)

    def _seen(self, window: Window) -> int:
        """Requests of the window: the global count Redis last reported plus this process's since."""
        return self._known.get(window, 0) + self._in_flight.get(window, 0) + self._pending.get(window, 0)

    async def _ask(self, window: Window, limit: int) -> bool:
        """Whether Redis counts this request within the limit.

        Requests that must ask wait for one round trip per process at a time: those arriving while one
        is in flight go together in the next (one INCRBY per client), so a burst costs a few round
        trips and connections, not one each.
        """
        decided: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._asks.setdefault(window, []).append((decided, limit))
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._ask_while_waiting(), name="rate-limit-ask")
        return await decided

    async def _ask_while_waiting(self) -> None:
        while self._asks:
            asks, self._asks = self._asks, {}
            try:
                counts = {window: self._pending.pop(window, 0) for window in asks}
                totals = await self._send(counts)
                for window, waiting in asks.items():
                    # The batch took the counter's last `counts[window]` places; the requests decided here
                    # took its last places (what else was counted here since the last flush is before them).
                    total = self._known.get(window, 0) if totals is None else totals[window]
                    place = total - len(waiting)
                    for decided, limit in waiting:
                        place += 1
                        if not decided.done():  # the request may have been cancelled meanwhile
                            decided.set_result(place <= limit)
            finally:  # cancelled (shutdown) or a bug: no request waits forever
                for waiting in asks.values():
                    for decided, _ in waiting:
                        decided.cancel()

    async def flush(self) -> None:
        """Add the local counts to Redis and learn the global totals; forget windows that have passed."""
        pending, self._pending = self._pending, defaultdict(int)
        now = self._clock()
        current = int(now)
        self._known = {w: n for w, n in self._known.items() if w[1] >= current - 1}
        self._local = defaultdict(int, {w: n for w, n in self._local.items() if w[1] >= current - 1})
        API_RATE_LIMIT_WINDOWS.set(len(self._known) + len(self._local))
        if pending or now - self._heartbeat_at >= HEARTBEAT_S:
            await self._send(dict(pending))

    async def _send(self, counts: dict[Window, int]) -> dict[Window, int] | None:
        """INCRBY every count (and say this process is alive when due); the totals, None if Redis failed."""
        now = self._clock()
        heartbeat = now - self._heartbeat_at >= HEARTBEAT_S or self._instances is None
        windows = list(counts)
        for window in windows:
            self._in_flight[window] += counts[window]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, second in windows:
                    name = f"{self._prefix}{key}:{second}"
                    pipe.incrby(name, counts[(key, second)])
                    pipe.expire(name, 2)
                if heartbeat:
                    instances = f"{self._prefix}instances"
                    pipe.zadd(instances, {self._instance: now})
                    pipe.zremrangebyscore(instances, "-inf", now - INSTANCE_TTL_S)
                    pipe.zcard(instances)
                    pipe.expire(instances, int(INSTANCE_TTL_S * 4))
                replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            # Keep limiting on this process's own counts until Redis answers again.
            for window in windows:
                self._known[window] = self._known.get(window, 0) + counts[window]
            self._lost(exc)
            return None
        finally:
            for window in windows:
                self._in_flight[window] -= counts[window]
                if not self._in_flight[window]:
                    del self._in_flight[window]
        if self._unreachable:
            self._unreachable = False
            log.info("rate limiter reaches Redis again")
        if heartbeat:
            self._heartbeat_at = now
            self._instances = max(1, int(replies[-2]))
        totals = {window: int(total) for window, total in zip(windows, replies[: 2 * len(windows) : 2], strict=True)}
        for window, total in totals.items():
            self._known[window] = max(self._known.get(window, 0), total)
        return totals

    def _lost(self, exc: BaseException) -> None:
        if not self._unreachable:
            self._unreachable = True
            log.warning(
                "rate limiter cannot reach Redis: limiting on this process's counts until it answers",
                extra={"error": type(exc).__name__},
            )

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            await self.flush()

    async def close(self) -> None:
        """Stop flushing, send what is left and leave the set of processes sharing the limits.

        Bounded in time: a task cancelled inside a Redis call, or a Redis that stopped answering, never
        holds up a shutdown for more than a few seconds.
        """
        tasks = {task for task in (self._flusher, self._asking) if task is not None}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S)
        self._flusher = self._asking = None
        for waiting in self._asks.values():  # nobody will answer them now: refuse rather than hang
            for decided, _ in waiting:
                if not decided.done():
                    decided.set_result(False)
        self._asks = {}
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.flush()
                await self._redis.zrem(f"{self._prefix}instances", self._instance)
