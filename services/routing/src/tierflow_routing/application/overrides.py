"""Staff overrides: set or clear one and route the customer at once, in one transaction (the worker publishes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import Flow, Priority
from tierflow_routing.adapters import advisors, customers, overrides, routes
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.errors import NoOverride, NotReady, NotRouted, OverrideInvalid, OverrideRejected
from tierflow_routing.application.routing import route_customer, snapshot
from tierflow_routing.domain.advisors import eligible, held_advisor
from tierflow_routing.domain.facts import CustomerState, Override
from tierflow_routing.domain.read_model import RouteRead


@dataclass(frozen=True, slots=True)
class OverrideRequest:
    """What a staff member asks: where the customer goes until when, and why."""

    flow: Flow
    priority: Priority
    reason: str
    expires_at: datetime
    advisor_id: str | None = None


async def set_override(ctx: RoutingContext, customer_id: str, request: OverrideRequest, *, actor: str) -> RouteRead:
    """Route the customer as staff say until the override expires; audited."""
    now = ctx.clock.now()
    if request.expires_at <= now:
        raise OverrideInvalid("expires_at must be in the future")
    if request.expires_at > now + timedelta(days=ctx.override_max_days):
        raise OverrideInvalid(f"expires_at must be within {ctx.override_max_days} days")
    if request.advisor_id is not None and request.flow is not Flow.PRIVATE_ADVISOR:
        raise OverrideInvalid("advisor_id goes only with flow private_advisor")
    override = Override(
        flow=request.flow.value,
        priority=request.priority.value,
        reason=request.reason,
        created_by=actor,
        created_at=now,
        expires_at=request.expires_at,
        advisor_id=request.advisor_id,
    )
    return await _apply(ctx, customer_id, override, actor=actor, now=now)


async def clear_override(ctx: RoutingContext, customer_id: str, *, actor: str) -> RouteRead:
    """Remove the customer's override: the policy decides again at once; audited."""
    return await _apply(ctx, customer_id, None, actor=actor, now=ctx.clock.now())


async def _apply(
    ctx: RoutingContext, customer_id: str, override: Override | None, *, actor: str, now: datetime
) -> RouteRead:
    await ctx.policy.refresh()
    if ctx.policy.policy is None:
        raise NotReady("no routing policy is active yet")
    policy = ctx.policy.current()
    async with ctx.outbox.transaction() as tx:
        conn = tx.connection
        state = (await customers.STORE.load_for_update(conn, [customer_id])).get(customer_id)
        if state is None or state.score.tier is None:
            raise NotRouted("no routing decision for this customer yet")
        if override is not None:
            await _check_advisor(conn, state, override)
            await overrides.set_override(conn, customer_id=customer_id, override=override)
        elif not await overrides.clear_override(
            conn, customer_id=customer_id, actor=actor, reason="cleared by staff", at=now
        ):
            raise NoOverride("this customer has no override")
        state.override = override
        decided = await route_customer(tx, state, policy, at=now, caused_by=None, topic=ctx.decisions_topic)
        await customers.STORE.save(conn, [state], now=now)
        await routes.save_routes(conn, current=[state], decided=[snapshot(state)] if decided else [], now=now)
        route = await routes.get_route(conn, customer_id=customer_id)
    assert route is not None  # saved in the transaction just committed
    await ctx.cache.put_many([route])
    return route


async def _check_advisor(conn: AsyncConnection, state: CustomerState, override: Override) -> None:
    """An advisor named by an override must exist, suit the customer and have room (or already serve them)."""
    if override.advisor_id is None:
        return
    advisor = await advisors.get_advisor(conn, override.advisor_id)
    if advisor is None:
        raise OverrideRejected(f"no advisor {override.advisor_id}")
    if not eligible(advisor, state.profile):
        raise OverrideRejected(f"advisor {override.advisor_id} is inactive or not eligible for this customer")
    if held_advisor(state.route) != advisor.advisor_id and advisor.load >= advisor.capacity:
        raise OverrideRejected(f"advisor {override.advisor_id} has no free capacity")
