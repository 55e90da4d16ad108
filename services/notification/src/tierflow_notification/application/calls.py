"""A calling day's outbound calls per tier against governance.calls (domain/calls.py), for a supervisor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.events.outputs import Tier
from tierflow_notification.adapters.calls import calls_used
from tierflow_notification.domain.calls import CallCapacity


@dataclass(frozen=True, slots=True)
class TierCalls:
    tier: Tier
    share: float
    limit: int | None  # None: no limit (per_day 0)
    used: int


@dataclass(frozen=True, slots=True)
class CallDay:
    day: date
    per_day: int
    tiers: list[TierCalls]


async def call_day(engine: AsyncEngine, calls: CallCapacity, *, day: date | None, clock: Clock) -> CallDay:
    """The calls each tier used on `day` (today, in the calls' timezone, when None) and its limit."""
    day = calls.day_of(clock.now()) if day is None else day
    async with engine.connect() as conn:
        used = await calls_used(conn, day=day)
    limits = calls.limits()
    return CallDay(
        day=day,
        per_day=calls.per_day,
        tiers=[
            TierCalls(tier, calls.shares[tier], limits[tier] if calls.limited else None, used[tier]) for tier in Tier
        ],
    )
