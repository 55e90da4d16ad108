"""What front ends and workbenches ask about one customer: the route, the figures, why."""

from __future__ import annotations

from dataclasses import dataclass

from tierflow_routing.adapters import customers, overrides, routes
from tierflow_routing.adapters.overrides import OverrideAudit
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.errors import NotRouted, UnknownCustomer
from tierflow_routing.domain.decision import Wanted, first_match, wanted_outcome
from tierflow_routing.domain.facts import CustomerState
from tierflow_routing.domain.policy import RoutingPolicy, Rule
from tierflow_routing.domain.read_model import DecisionRead, RouteRead

CACHE, DATABASE = "cache", "database"


async def current_route(ctx: RoutingContext, customer_id: str) -> tuple[bytes, str]:
    """The customer's current route as JSON, and where it came from (`cache` or `database`).

    The hot path of every app open: Redis first, sending the cached bytes as the worker wrote them;
    on a miss (or Redis down) PostgreSQL, writing the route back only where Redis has none, so a
    newer route the worker cached meanwhile is never replaced.
    """
    cached = await ctx.cache.get_raw(customer_id)
    if cached is not None:
        return cached, CACHE
    async with ctx.engine.connect() as conn:
        route = await routes.get_route(conn, customer_id=customer_id)
    if route is None:
        raise NotRouted("no routing decision for this customer yet")
    await ctx.cache.put_many([route], only_if_missing=True)
    return route.model_dump_json().encode(), DATABASE


async def customer_state(ctx: RoutingContext, customer_id: str) -> CustomerState:
    """Everything routing knows of the customer."""
    async with ctx.engine.connect() as conn:
        state = await customers.STORE.get(conn, customer_id)
    if state is None:
        raise UnknownCustomer("nothing known for this customer yet")
    return state


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the customer is routed where they are, under the active policy."""

    state: CustomerState
    policy: RoutingPolicy
    wanted: Wanted
    matched_rule: Rule | None  # None when an override or a closed account decides
    route: RouteRead | None
    override_history: list[OverrideAudit]


async def explain(ctx: RoutingContext, customer_id: str) -> Explanation:
    """The inputs, the rule that matches them now, the stored route and the override trail."""
    state = await customer_state(ctx, customer_id)
    await ctx.policy.refresh()
    policy = ctx.policy.current()
    wanted = wanted_outcome(state, policy, ctx.clock.now())
    matched = None
    if wanted.rule not in ("staff_override", "closed"):
        matched = first_match(policy, state.profile, state.score)
    async with ctx.engine.connect() as conn:
        route = await routes.get_route(conn, customer_id=customer_id)
        history = await overrides.history(conn, customer_id=customer_id)
    return Explanation(state, policy, wanted, matched, route, history)


@dataclass(frozen=True, slots=True)
class DecisionHistory:
    """A page of a customer's decision log, newest first; `more` when older decisions follow."""

    items: list[DecisionRead]
    more: bool


async def decision_history(
    ctx: RoutingContext, customer_id: str, *, before_version: int | None, limit: int
) -> DecisionHistory:
    """Every routing decision made for the customer (the audit trail), a page at a time."""
    async with ctx.engine.connect() as conn:
        found = await routes.decision_history(
            conn, customer_id=customer_id, before_version=before_version, limit=limit + 1
        )
    if not found and before_version is None:
        raise NotRouted("no routing decision for this customer yet")
    return DecisionHistory(items=found[:limit], more=len(found) > limit)
