"""What routing's use cases work with, built once by bootstrap.py and passed in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.db.outbox import Outbox
from tierflow_routing.adapters.route_cache import RouteCache
from tierflow_routing.application.active_policy import ActivePolicy


@dataclass(frozen=True, slots=True)
class RoutingContext:
    """The database, the outbox for decisions, the route cache, the active policy and the clock."""

    engine: AsyncEngine
    outbox: Outbox
    cache: RouteCache
    policy: ActivePolicy
    clock: Clock
    decisions_topic: str
    override_max_days: int = 90
