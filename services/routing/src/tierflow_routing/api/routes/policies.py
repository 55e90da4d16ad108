"""/v1/policies: the active routing policy, uploading a new version, simulating one."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException

from tierflow_routing.adapters import policies
from tierflow_routing.adapters.policies import PolicyConflict
from tierflow_routing.api.deps import ClientsDep, PolicyReaderDep, PolicyWriterDep
from tierflow_routing.api.routes.customers import errors
from tierflow_routing.api.views import AdvisorLoad, PolicyRead, PolicyUpload, SimulationRead
from tierflow_routing.domain.policy import RoutingPolicy, RoutingPolicyError, parse_routing_policy
from tierflow_routing.simulation import simulate

router = APIRouter(prefix="/v1/policies", tags=["policies"])


def view(policy: RoutingPolicy) -> PolicyRead:
    return PolicyRead(version=policy.version, description=policy.description, document=policy.model_dump(mode="json"))


def parse(body: PolicyUpload) -> RoutingPolicy:
    try:
        return parse_routing_policy(body.yaml, source="uploaded policy")
    except RoutingPolicyError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


@router.get(
    "/active",
    response_model=PolicyRead,
    responses=errors(404),  # type: ignore[arg-type]
    summary="The routing policy in force",
    description="Scope: `route:read` or `policy:write`.",
)
async def get_active(_: PolicyReaderDep, clients: ClientsDep) -> PolicyRead:
    async with clients.engine.connect() as conn:
        policy = await policies.active_policy(conn)
    if policy is None:
        raise HTTPException(status_code=404, detail="no routing policy is active yet")
    return view(policy)


@router.post(
    "",
    response_model=PolicyRead,
    status_code=201,
    responses=errors(400, 409),  # type: ignore[arg-type]
    summary="Upload a new routing policy version and make it active",
    description=(
        "The YAML is validated as a whole; an invalid policy is refused with every problem named (422) and nothing "
        "is stored. A version number cannot be reused for another content (409). Every customer decided under "
        "another version is re-routed by the worker within seconds. Scope: `policy:write`."
    ),
)
async def upload(body: PolicyUpload, principal: PolicyWriterDep, clients: ClientsDep) -> PolicyRead:
    policy = parse(body)
    try:
        async with clients.engine.begin() as conn:
            await policies.store_policy(conn, policy, by=principal.subject, now=datetime.now(UTC), activate=True)
    except PolicyConflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return view(policy)


@router.post(
    "/simulate",
    response_model=SimulationRead,
    responses=errors(400, 404),  # type: ignore[arg-type]
    summary="What a candidate policy would change, applying nothing",
    description=(
        "Evaluates the candidate against every routed customer and replays advisor assignment on the result: "
        "how many customers would move from each flow to each other flow, and each advisor's resulting load. "
        "Scope: `policy:write`."
    ),
)
async def simulate_policy(body: PolicyUpload, _: PolicyWriterDep, clients: ClientsDep) -> SimulationRead:
    candidate = parse(body)
    async with clients.engine.connect() as conn:
        active = await policies.active_policy(conn)
        if active is None:
            raise HTTPException(status_code=404, detail="no routing policy is active yet")
        result = await simulate(conn, candidate, now=datetime.now(UTC))
    return SimulationRead(
        candidate_version=candidate.version,
        active_version=active.version,
        customers=result.customers,
        changed=result.changed,
        moves=result.moves,
        advisor_load=[
            AdvisorLoad(
                advisor_id=a.advisor_id,
                region=a.region,
                capacity=a.capacity,
                load_now=result.load_now[a.advisor_id],
                load_after=result.load_after[a.advisor_id],
            )
            for a in result.team
        ],
        waitlist_after=result.waitlist_after,
    )
