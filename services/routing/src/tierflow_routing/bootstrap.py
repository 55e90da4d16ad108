"""The one place the routing worker and the routing API are wired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from tierflow_common.auth import TokenVerifier
from tierflow_common.cache import create_redis
from tierflow_common.clock import Clock, WallClock
from tierflow_common.db.engine import create_engine
from tierflow_common.db.outbox import Outbox, OutboxMode
from tierflow_common.events.topics import OUTCOME, PROFILE, ROUTING, SCORE, Topics
from tierflow_common.gauges import refresh_periodically, review_backlog_refresher
from tierflow_common.runtime import ServiceRuntime
from tierflow_common.web.ratelimit import RateLimiter
from tierflow_common.web.security import Gate
from tierflow_common.wiring import consumer_loop, pipeline_parts, service_runtime, sweeper_task
from tierflow_routing.adapters.route_cache import RouteCache
from tierflow_routing.application.active_policy import ActivePolicy
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.outcomes import OutcomeSettings
from tierflow_routing.gauges import routing_gauges
from tierflow_routing.service import RoutingService
from tierflow_routing.settings import RoutingSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def build_cache(settings: RoutingSettings) -> RouteCache:
    """The route cache on the configured Redis."""
    redis = create_redis(settings.infra.redis_url.get_secret_value())
    return RouteCache(redis, ttl_s=settings.cache_ttl_s, namespace=settings.cache_namespace)


def build(settings: RoutingSettings, *, clock: Clock | None = None) -> ServiceRuntime:
    """Build the routing worker: consumer loop on profiles and scores, sweeper, cache repair, gauges.

    `clock` replaces the one the settings name (tests move time to mature outcome windows).
    """
    parts = pipeline_parts("routing", settings, clock=clock)
    cache = build_cache(settings)
    policy = ActivePolicy(
        engine=parts.engine,
        clock=parts.clock,
        default_file=settings.default_policy_file,
        refresh_s=settings.policy_refresh_s,
    )
    ctx = RoutingContext(
        engine=parts.engine,
        outbox=parts.outbox,
        cache=cache,
        policy=policy,
        clock=parts.clock,
        decisions_topic=parts.topics.name(ROUTING),
        override_max_days=settings.override_max_days,
    )
    outcomes = OutcomeSettings(
        topic=parts.topics.name(OUTCOME),
        grace=timedelta(seconds=settings.outcome_grace_s),
        batch=settings.sweep_batch,
    )
    service = RoutingService(ctx, outcomes=outcomes, sweep_batch=settings.sweep_batch)
    loop = consumer_loop(parts, subscribe=[PROFILE, SCORE], processor=service)
    gauges = partial(refresh_periodically, refresh=routing_gauges(parts.engine, parts.clock))
    backlog = partial(refresh_periodically, refresh=review_backlog_refresher("routing", parts.engine, "customers"))
    runtime = service_runtime(
        parts,
        loop,
        background=[sweeper_task(parts, service.sweep_once), service.repair_cache, policy.run, gauges, backlog],
    )
    runtime.startup.append(service.start)
    runtime.shutdown.append(cache.close)
    return runtime


@dataclass(frozen=True, slots=True)
class ApiDependencies:
    """What the API serves with: the use cases' context and the gate (token verifier, rate limiter)."""

    routing: RoutingContext
    gate: Gate
    limiter: RateLimiter

    async def close(self) -> None:
        """Stop the rate limiter's flushes, close Redis and the database pool."""
        await self.limiter.close()
        await self.routing.cache.close()
        await self.routing.engine.dispose()


def build_api_dependencies(settings: RoutingSettings, *, clock: Clock | None = None) -> ApiDependencies:
    """Engine, cache, policy, outbox and clock for the use cases; token verifier and rate limiter for the gate.

    The API stages the decisions it makes (overrides) in the outbox; the worker publishes them.
    """
    settings.check_secrets()
    engine = create_engine(
        settings.infra.database_url.get_secret_value(),
        schema=settings.db_schema,
        application_name="tierflow-routing-api",
        pool_size=settings.db_pool_size,
    )
    cache = build_cache(settings)
    clock = clock or WallClock()
    limiter = RateLimiter(
        cache.redis,
        namespace=settings.cache_namespace,
        customer_rps=settings.rate_limit_customer_rps,
        staff_rps=settings.rate_limit_staff_rps,
        unauthenticated_rps=settings.rate_limit_unauthenticated_rps,
    )
    routing = RoutingContext(
        engine=engine,
        outbox=Outbox(service="routing-api", engine=engine, producer=None, mode=OutboxMode.STAGE_ONLY),
        cache=cache,
        policy=ActivePolicy(engine=engine, clock=clock, default_file=settings.default_policy_file),
        clock=clock,
        decisions_topic=Topics(settings.infra.topic_prefix).name(ROUTING),
        override_max_days=settings.override_max_days,
    )
    return ApiDependencies(routing=routing, gate=Gate(TokenVerifier.from_settings(settings), limiter), limiter=limiter)
