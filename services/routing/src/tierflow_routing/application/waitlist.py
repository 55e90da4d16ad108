"""The waitlist as staff see it: everyone waiting (for a region's advisors), in the policy's order, with why."""

from __future__ import annotations

from dataclasses import dataclass

from tierflow_routing.adapters import advisors
from tierflow_routing.adapters.policies import POLICIES
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.domain.resources import Waitlist, WaitlistOrder
from tierflow_routing.domain.waitlist import Waiting, ordered, reason


@dataclass(frozen=True, slots=True)
class Position:
    """One place in the queue: 1 is promoted first; `reason` gives the figures that ranked it."""

    position: int
    entry: Waiting
    reason: str


@dataclass(frozen=True, slots=True)
class WaitlistPage:
    order: WaitlistOrder
    policy_version: str | None
    region: str | None
    total: int
    positions: list[Position]


async def waitlist(ctx: RoutingContext, *, region: str | None, limit: int) -> WaitlistPage:
    """The first `limit` waiting customers (of `region` and of unknown region, who compete for its places) in the
    order of the policy in force, each with the figures that put them there."""
    async with ctx.engine.connect() as conn:
        policy = await POLICIES.active(conn)
        entries = await advisors.waiting(conn, region=region)
    order = (Waitlist() if policy is None else policy.waitlist_in_force()).order
    queue = ordered(entries, order)
    positions = [Position(n, entry, reason(entry, order)) for n, entry in enumerate(queue[:limit], start=1)]
    return WaitlistPage(
        order=order,
        policy_version=None if policy is None else policy.version,
        region=region,
        total=len(queue),
        positions=positions,
    )
