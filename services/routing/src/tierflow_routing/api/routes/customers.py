"""/v1/customers/{customer_id}/...: what a front end or a workbench asks about one customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated

import msgspec
from fastapi import APIRouter, HTTPException, Path, Request, Response

from tierflow_common.events.outputs import ChurnBand, Flow, Reason, Tier
from tierflow_common.events.types import CustomerId
from tierflow_common.web.security import PrincipalDep
from tierflow_routing.adapters import advisors, overrides, repository
from tierflow_routing.api.deps import ClientsDep, OverriderDep, StaffReaderDep
from tierflow_routing.api.security import authorize_route_read
from tierflow_routing.api.views import (
    CustomerRead,
    ExplainRead,
    Figures,
    OverrideAuditRead,
    OverrideRead,
    OverrideWrite,
    RuleRead,
    ScoreExplanation,
)
from tierflow_routing.bootstrap import ApiDependencies
from tierflow_routing.domain.decision import eligible, first_match, wanted_outcome
from tierflow_routing.domain.facts import CustomerState, Override, ProfileFacts
from tierflow_routing.schemas import ErrorBody, RouteRead

router = APIRouter(prefix="/v1/customers", tags=["customers"])

CustomerPath = Annotated[CustomerId, Path(description="Pseudonymous customer id.", examples=["C000123"])]


def errors(*codes: int) -> dict[int | str, dict[str, object]]:
    text = {
        400: "The body is not valid JSON.",
        401: "Missing, expired or invalid bearer token.",
        403: "The token's scopes do not allow this (a customer token may read only its own customer).",
        404: "Nothing known for this customer yet.",
        409: "The request conflicts with the current state (e.g. the advisor has no free capacity).",
        422: "The request is malformed; the detail names the field and the rule.",
        429: "Too many requests for this client; retry after the Retry-After header's seconds.",
    }
    return {code: {"model": ErrorBody, "description": text[code]} for code in (401, 403, 422, 429, *codes)}


@router.get(
    "/{customer_id}/route",
    response_model=RouteRead,
    responses=errors(404),  # type: ignore[arg-type]
    summary="The customer's current routing decision",
    description=(
        "Served from Redis, with PostgreSQL as the fallback when Redis misses or is down. "
        "Scopes: `route:read` (staff, any customer) or `route:read:self` with a `customer_id` claim "
        "equal to the path (the customer's own app). `active: false` means a closed account: show nothing."
    ),
)
async def get_route(customer_id: CustomerPath, principal: PrincipalDep, request: Request) -> Response:
    # The hot path of every app open: no further dependencies to solve, and the answer is sent as
    # JSON bytes (the cached bytes as the worker wrote them from a RouteRead).
    authorize_route_read(principal, customer_id)
    clients: ApiDependencies = request.app.state.clients
    cached = await clients.cache.get_raw(customer_id)
    if cached is not None:
        return Response(cached, media_type="application/json", headers={"X-Route-Source": "cache"})
    async with clients.engine.connect() as conn:
        row = await repository.get_route(conn, customer_id=customer_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no routing decision for this customer yet")
    view = RouteRead.from_row(row)
    await clients.cache.put_many([view], only_if_missing=True)  # never over a newer route the worker cached
    return Response(view.model_dump_json(), media_type="application/json", headers={"X-Route-Source": "database"})


async def _state(clients: ApiDependencies, customer_id: str) -> CustomerState:
    async with clients.engine.connect() as conn:
        state = await repository.get_state(conn, customer_id=customer_id)
    if state is None:
        raise HTTPException(status_code=404, detail="nothing known for this customer yet")
    return state


@router.get(
    "/{customer_id}",
    response_model=CustomerRead,
    responses=errors(404),  # type: ignore[arg-type]
    summary="Tier, churn band, P(alive) and key profile figures",
    description="Scopes: `route:read`, or `route:read:self` for the customer's own id.",
)
async def get_customer(customer_id: CustomerPath, principal: PrincipalDep, clients: ClientsDep) -> CustomerRead:
    authorize_route_read(principal, customer_id)
    state = await _state(clients, customer_id)
    score, profile = state.score, state.profile
    return CustomerRead(
        customer_id=customer_id,
        tier=None if score.tier is None else Tier(score.tier),
        churn_band=None if score.churn_band is None else ChurnBand(score.churn_band),
        churn_score=score.churn_score,
        p_alive=score.p_alive,
        value_score=score.value_score,
        signals=score.signals,
        flow=None if state.route is None else Flow(state.route.flow),
        figures=Figures(
            total_assets=profile.total_assets,
            commission_12m=profile.commission_12m,
            trades_90d=profile.trades_90d,
            last_trade_at=profile.last_trade_at,
            last_login_at=profile.last_login_at,
            digital_logins_30d=profile.digital_logins_30d,
        ),
        scored_at=score.decided_at,
    )


def _reasons(rows: list[tuple[str, float | None, str]]) -> list[Reason]:
    return [Reason(code=c, contribution=w, detail=d) for c, w, d in rows]


def _override_view(override: Override | None) -> OverrideRead | None:
    if override is None:
        return None
    return OverrideRead(
        flow=Flow(override.flow),
        advisor_id=override.advisor_id,
        priority=override.priority,  # type: ignore[arg-type]
        reason=override.reason,
        created_by=override.created_by,
        created_at=override.created_at,
        expires_at=override.expires_at,
    )


@router.get(
    "/{customer_id}/explain",
    response_model=ExplainRead,
    responses=errors(404),  # type: ignore[arg-type]
    summary="Why the customer is routed where they are",
    description="The inputs, the matched rule, the tier and churn reasons, any staff override. Scope: `route:read`.",
)
async def explain(customer_id: CustomerPath, _: StaffReaderDep, clients: ClientsDep) -> ExplainRead:
    state = await _state(clients, customer_id)
    await clients.policy.refresh()
    policy = clients.policy.current()
    now = datetime.now(UTC)
    wanted = wanted_outcome(state, policy, now)
    matched = None
    if wanted.rule not in ("staff_override", "closed"):
        rule = first_match(policy, state.profile, state.score)
        matched = RuleRead(
            name=rule.name,
            description=rule.description,
            when={k: v for k, v in rule.when.model_dump(mode="json").items() if v is not None},
            then=rule.then.model_dump(mode="json"),
        )
    async with clients.engine.connect() as conn:
        row = await repository.get_route(conn, customer_id=customer_id)
        history = await overrides.history(conn, customer_id=customer_id)
    score = state.score
    facts = msgspec.to_builtins(state.profile, builtin_types=(datetime, Decimal))
    facts = dict(zip(ProfileFacts.__struct_fields__, facts, strict=True)) if isinstance(facts, list) else facts
    return ExplainRead(
        customer_id=customer_id,
        routing_policy_version=policy.version,
        matched_rule=matched,
        decided_by=wanted.rule,
        route=None if row is None else RouteRead.from_row(row),
        facts=facts,
        score=ScoreExplanation(
            tier=None if score.tier is None else Tier(score.tier),
            churn_band=None if score.churn_band is None else ChurnBand(score.churn_band),
            p_alive=score.p_alive,
            churn_score=score.churn_score,
            value_score=score.value_score,
            signals=score.signals,
            tier_reasons=_reasons(score.reasons),
            churn_reasons=_reasons(score.churn_reasons),
            policy_version=score.policy_version,
            model_version=score.model_version,
        ),
        override=_override_view(state.override),
        override_history=[OverrideAuditRead(**h) for h in history],
        waitlisted_since=state.waitlisted_since,
    )


async def _apply_override(
    clients: ApiDependencies, customer_id: str, override: Override | None, actor: str, now: datetime
) -> RouteRead:
    """Set or clear the override and route the customer in the same transaction; the worker publishes."""
    await clients.policy.refresh()
    if clients.policy.policy is None:
        raise HTTPException(status_code=503, detail="no routing policy is active yet")
    policy = clients.policy.current()
    async with clients.outbox.transaction() as tx:
        conn = tx.connection
        state = (await repository.load_for_update(conn, customer_ids=[customer_id])).get(customer_id)
        if state is None or state.score.tier is None:
            raise HTTPException(status_code=404, detail="no routing decision for this customer yet")
        if override is not None:
            await _check_advisor(clients, conn, state, override)
            await overrides.set_override(conn, customer_id=customer_id, override=override)
        elif not await overrides.clear_override(
            conn, customer_id=customer_id, actor=actor, reason="cleared by staff", at=now
        ):
            raise HTTPException(status_code=404, detail="this customer has no override")
        state.override = override
        decided = await clients.routes.route(tx, state, policy, at=now, caused_by=None)
        await repository.save_states(conn, states=[state], now=now)
        snapshot = [state] if decided else []
        await repository.save_routes(conn, current=[state], decided=snapshot, now=now)
        row = await repository.get_route(conn, customer_id=customer_id)
    assert row is not None
    view = RouteRead.from_row(row)
    await clients.cache.put_many([view])
    return view


async def _check_advisor(clients: ApiDependencies, conn, state: CustomerState, override: Override) -> None:  # type: ignore[no-untyped-def]
    if override.advisor_id is None:
        return
    if override.flow != Flow.PRIVATE_ADVISOR.value:
        raise HTTPException(status_code=422, detail="advisor_id goes only with flow private_advisor")
    advisor = await advisors.get_advisor(conn, override.advisor_id)
    if advisor is None:
        raise HTTPException(status_code=409, detail=f"no advisor {override.advisor_id}")
    if not eligible(advisor, state.profile):
        raise HTTPException(
            status_code=409, detail=f"advisor {override.advisor_id} is inactive or not eligible for this customer"
        )
    held = state.route.advisor_id if state.route is not None and state.route.active else None
    if held != advisor.advisor_id and advisor.load >= advisor.capacity:
        raise HTTPException(status_code=409, detail=f"advisor {override.advisor_id} has no free capacity")


@router.put(
    "/{customer_id}/route/override",
    response_model=RouteRead,
    responses=errors(400, 404, 409),  # type: ignore[arg-type]
    summary="Override the customer's route (staff)",
    description=(
        "The override decides the route until `expires_at` (at most 90 days ahead), then the policy decides again. "
        "Audited (who, when, why) and visible in /explain. Scope: `route:override`."
    ),
)
async def put_override(
    customer_id: CustomerPath, body: OverrideWrite, principal: OverriderDep, clients: ClientsDep
) -> RouteRead:
    now = datetime.now(UTC)
    if body.expires_at <= now:
        raise HTTPException(status_code=422, detail="expires_at must be in the future")
    if body.expires_at > now + timedelta(days=clients.settings.override_max_days):
        raise HTTPException(
            status_code=422, detail=f"expires_at must be within {clients.settings.override_max_days} days"
        )
    override = Override(
        flow=body.flow.value,
        priority=body.priority.value,
        reason=body.reason,
        created_by=principal.subject,
        created_at=now,
        expires_at=body.expires_at,
        advisor_id=body.advisor_id,
    )
    return await _apply_override(clients, customer_id, override, principal.subject, now)


@router.delete(
    "/{customer_id}/route/override",
    response_model=RouteRead,
    responses=errors(404),  # type: ignore[arg-type]
    summary="Remove the customer's override (staff)",
    description="The policy decides again at once. Audited. Scope: `route:override`.",
)
async def delete_override(customer_id: CustomerPath, principal: OverriderDep, clients: ClientsDep) -> RouteRead:
    return await _apply_override(clients, customer_id, None, principal.subject, datetime.now(UTC))
