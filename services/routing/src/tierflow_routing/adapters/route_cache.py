"""The Redis cache of current routes: written after each commit, read first by the API."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import cast

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tierflow_routing.domain.read_model import RouteRead

log = logging.getLogger(__name__)

CACHE_OPERATIONS = Counter(
    "tierflow_route_cache_operations_total", "Route cache reads and writes by result.", ["operation", "result"]
)

KEY_PREFIX = "tierflow:route:v1:"


def cache_key(customer_id: str, namespace: str = "") -> str:
    """The Redis key of one customer's current route."""
    return f"{namespace}{KEY_PREFIX}{customer_id}"


class RouteCache:
    """Write-through cache with a TTL; a Redis outage is a miss, never an error to the caller.

    After a failure Redis is skipped for `pause_s` seconds, so a dead Redis costs at most one
    timeout per pause instead of one per request.
    """

    def __init__(self, redis: Redis, *, ttl_s: int, namespace: str = "", pause_s: float = 5.0) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._namespace = namespace
        self._pause_s = pause_s
        self._skip_until = 0.0

    @property
    def redis(self) -> Redis:
        return self._redis

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _failed(self, operation: str, exc: Exception) -> None:
        self._skip_until = time.monotonic() + self._pause_s
        CACHE_OPERATIONS.labels(operation, "error").inc()
        log.warning("route cache unavailable", extra={"operation": operation, "error": type(exc).__name__})

    async def get_raw(self, customer_id: str) -> bytes | None:
        """The cached route as the JSON the worker wrote (a RouteRead), or None on a miss or outage.

        The API's hot path sends these bytes as they are: parsing and re-serialising them would
        only repeat the validation the worker did when it wrote them.
        """
        if not self.available:
            CACHE_OPERATIONS.labels("get", "skipped").inc()
            return None
        try:
            # decode_responses=False (tierflow_common.cache): Redis answers bytes, which redis-py's types don't know.
            raw = cast(bytes | None, await self._redis.get(cache_key(customer_id, self._namespace)))
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        CACHE_OPERATIONS.labels("get", "hit" if raw else "miss").inc()
        return raw

    async def put_many(self, routes: Sequence[RouteRead], *, only_if_missing: bool = False) -> bool:
        """Cache routes; False when Redis could not take them.

        `only_if_missing` is for the API's write-back after a miss: the route it read from PostgreSQL
        may already be older than one the worker cached meanwhile, so it never replaces a cached route.
        """
        if not routes:
            return True
        if not self.available:
            CACHE_OPERATIONS.labels("put", "skipped").inc(len(routes))
            return False
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for route in routes:
                    pipe.set(
                        cache_key(route.customer_id, self._namespace),
                        route.model_dump_json(),
                        ex=self._ttl_s,
                        nx=only_if_missing,
                    )
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._failed("put", exc)
            return False
        CACHE_OPERATIONS.labels("put", "ok").inc(len(routes))
        return True

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
