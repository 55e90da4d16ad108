"""The one place the routing worker and the routing API are wired."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.auth import TokenVerifier
from tierflow_common.cache import create_redis
from tierflow_common.clock import WallClock
from tierflow_common.db.engine import create_engine
from tierflow_common.db.outbox import Outbox
from tierflow_common.events.topics import PROFILE, ROUTING, SCORE, Topics
from tierflow_common.gauges import refresh_periodically, review_backlog_refresher
from tierflow_common.runtime import ServiceRuntime
from tierflow_common.web.ratelimit import RateLimiter
from tierflow_common.wiring import consumer_loop, pipeline_parts, service_runtime, sweeper_task
from tierflow_routing.adapters.route_cache import RouteCache
from tierflow_routing.engine import RouteEngine
from tierflow_routing.gauges import routing_gauges
from tierflow_routing.policy_store import ActivePolicy
from tierflow_routing.service import RoutingService
from tierflow_routing.settings import RoutingSettings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def build_cache(settings: RoutingSettings) -> RouteCache:
    """The route cache on the configured Redis."""
    redis = create_redis(settings.infra.redis_url.get_secret_value())
    return RouteCache(redis, ttl_s=settings.cache_ttl_s, namespace=settings.cache_namespace)


def build(settings: RoutingSettings) -> ServiceRuntime:
    """Build the routing worker: consumer loop on profiles and scores, sweeper, cache repair, gauges."""
    parts = pipeline_parts("routing", settings)
    cache = build_cache(settings)
    policy = ActivePolicy(
        engine=parts.engine,
        clock=parts.clock,
        default_file=settings.default_policy_file,
        refresh_s=settings.policy_refresh_s,
    )
    service = RoutingService(
        engine=parts.engine,
        outbox=parts.outbox,
        cache=cache,
        topics=parts.topics,
        clock=parts.clock,
        policy=policy,
        sweep_batch=settings.sweep_batch,
    )
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


@dataclass
class ApiDependencies:
    """What the API's request handlers need; built at startup, closed at shutdown."""

    settings: RoutingSettings
    engine: AsyncEngine
    cache: RouteCache
    verifier: TokenVerifier
    limiter: RateLimiter
    policy: ActivePolicy
    outbox: Outbox
    routes: RouteEngine

    async def close(self) -> None:
        await self.limiter.close()
        await self.cache.close()
        await self.engine.dispose()


def build_api_dependencies(settings: RoutingSettings) -> ApiDependencies:
    """Engine, cache, token verifier, rate limiter, policy and the route engine for overrides.

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
    topics = Topics(settings.infra.topic_prefix)
    clock = WallClock()
    return ApiDependencies(
        settings=settings,
        engine=engine,
        cache=cache,
        verifier=TokenVerifier.from_settings(settings),
        limiter=RateLimiter(
            cache.redis,
            namespace=settings.cache_namespace,
            customer_rps=settings.rate_limit_customer_rps,
            staff_rps=settings.rate_limit_staff_rps,
        ),
        policy=ActivePolicy(engine=engine, clock=clock, default_file=settings.default_policy_file),
        outbox=Outbox(service="routing-api", engine=engine, producer=None, stage_only=True),
        routes=RouteEngine(topic=topics.name(ROUTING)),
    )
