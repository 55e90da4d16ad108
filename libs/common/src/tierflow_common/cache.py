"""The Redis client used by services that cache (routing)."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str, *, timeout_s: float = 0.25) -> Redis:
    """A pooled asyncio Redis client with short timeouts, so a dead Redis fails fast."""
    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=15,
        decode_responses=False,
    )
