"""/v1/customers/{customer_id}/...: what a front end or a workbench asks about one customer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from tierflow_common.events.types import CustomerId
from tierflow_common.web.errors import documented
from tierflow_common.web.security import PrincipalDep
from tierflow_routing.api.deps import OverriderDep, RoutingDep, StaffReaderDep
from tierflow_routing.api.security import authorize_route_read
from tierflow_routing.api.views import CustomerRead, CustomerSelfRead, DecisionPage, ExplainRead, OverrideWrite
from tierflow_routing.application import customers, overrides
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.domain.read_model import CustomerRouteRead, RouteRead

router = APIRouter(prefix="/v1/customers", tags=["customers"])

CustomerPath = Annotated[CustomerId, Path(description="Pseudonymous customer id.", examples=["C000123"])]
NO_DECISION = "No routing decision (or nothing at all) known for this customer yet."
OVERRIDE_CONFLICT = "The advisor named is unknown, inactive, not eligible for the customer, or has no free capacity."


@router.get(
    "/{customer_id}/route",
    response_model=RouteRead | CustomerRouteRead,
    responses=documented(404, s404=NO_DECISION),
    summary="The customer's current routing decision",
    description=(
        "Served from Redis, with PostgreSQL as the fallback when Redis misses or is down. "
        "Scopes: `route:read` (staff, any customer: the whole decision, `RouteRead`) or `route:read:self` with a "
        "`customer_id` claim equal to the path (the customer's own app: where they go, without the churn band, "
        "reasons, priority or policy, `CustomerRouteRead`). `active: false` means a closed account: show nothing."
    ),
)
async def get_route(customer_id: CustomerPath, principal: PrincipalDep, request: Request) -> Response:
    # The hot path of every app open: no further dependencies to solve, and the answer is sent as
    # JSON bytes (the cached bytes as the worker wrote them from a RouteRead).
    as_customer = authorize_route_read(principal, customer_id)
    routing: RoutingContext = request.app.state.routing
    body, source = await customers.current_route(routing, customer_id)
    if as_customer:
        body = CustomerRouteRead.from_route_json(body)
    return Response(body, media_type="application/json", headers={"X-Route-Source": source})


@router.get(
    "/{customer_id}",
    response_model=CustomerRead | CustomerSelfRead,
    responses=documented(404, s404=NO_DECISION),
    summary="Tier, churn band, P(alive) and key profile figures",
    description=(
        "Scopes: `route:read` (staff: everything, `CustomerRead`), or `route:read:self` for the customer's own id "
        "(tier, flow and figures, without churn internals: `CustomerSelfRead`)."
    ),
)
async def get_customer(
    customer_id: CustomerPath, principal: PrincipalDep, routing: RoutingDep
) -> CustomerRead | CustomerSelfRead:
    as_customer = authorize_route_read(principal, customer_id)
    state = await customers.customer_state(routing, customer_id)
    return CustomerSelfRead.of(state) if as_customer else CustomerRead.of(state)


@router.get(
    "/{customer_id}/explain",
    response_model=ExplainRead,
    responses=documented(404, s404=NO_DECISION),
    summary="Why the customer is routed where they are",
    description="The inputs, the matched rule, the tier and churn reasons, any staff override. Scope: `route:read`.",
)
async def explain(customer_id: CustomerPath, _: StaffReaderDep, routing: RoutingDep) -> ExplainRead:
    return ExplainRead.of(await customers.explain(routing, customer_id))


@router.get(
    "/{customer_id}/decisions",
    response_model=DecisionPage,
    responses=documented(404, s404=NO_DECISION),
    summary="The customer's decision log, newest first",
    description=(
        "Every routing decision made for the customer (the audit trail behind the current route): flow, advisor, "
        "rule, reasons, the policy version, what caused it and what it superseded. Pass `next_before` back as "
        "`before` for older decisions. Scope: `route:read`."
    ),
)
async def decisions(
    customer_id: CustomerPath,
    _: StaffReaderDep,
    routing: RoutingDep,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Only decisions older than this version.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DecisionPage:
    page = await customers.decision_history(routing, customer_id, before_version=before, limit=limit)
    return DecisionPage(items=page.items, next_before=page.items[-1].version if page.more else None)


@router.put(
    "/{customer_id}/route/override",
    response_model=RouteRead,
    responses=documented(400, 404, 409, 503, s404=NO_DECISION, s409=OVERRIDE_CONFLICT),
    summary="Override the customer's route (staff)",
    description=(
        "The override decides the route until `expires_at` (at most 90 days ahead), then the policy decides again. "
        "Audited (who, when, why) and visible in /explain. Scope: `route:override`."
    ),
)
async def put_override(
    customer_id: CustomerPath, body: OverrideWrite, principal: OverriderDep, routing: RoutingDep
) -> RouteRead:
    return await overrides.set_override(routing, customer_id, body.request(), actor=principal.subject)


@router.delete(
    "/{customer_id}/route/override",
    response_model=RouteRead,
    responses=documented(404, 503, s404="No routing decision for this customer yet, or no override to remove."),
    summary="Remove the customer's override (staff)",
    description="The policy decides again at once. Audited. Scope: `route:override`.",
)
async def delete_override(customer_id: CustomerPath, principal: OverriderDep, routing: RoutingDep) -> RouteRead:
    return await overrides.clear_override(routing, customer_id, actor=principal.subject)
