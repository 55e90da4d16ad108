"""/v1/policies: the active routing policy, uploading a new version, simulating one."""

from __future__ import annotations

from fastapi import APIRouter

from tierflow_common.web.errors import documented
from tierflow_routing.api.audit_views import ChangeRead
from tierflow_routing.api.deps import PolicyReaderDep, PolicyWriterDep, RoutingDep
from tierflow_routing.api.policy_views import PolicyRead, PolicyUpload, SimulationRead
from tierflow_routing.application import policies

router = APIRouter(prefix="/v1/policies", tags=["policies"])

NO_POLICY = "No routing policy is active yet."


@router.get(
    "/active",
    response_model=PolicyRead,
    responses=documented(404, s404=NO_POLICY),
    summary="The routing policy in force",
    description="Scope: `route:read` or `policy:write`.",
)
async def get_active(_: PolicyReaderDep, routing: RoutingDep) -> PolicyRead:
    return PolicyRead.of(await policies.active_policy(routing))


@router.get(
    "/history",
    response_model=list[ChangeRead],
    responses=documented(),
    summary="Who made which routing policy version active",
    description=(
        "The last 50 activations, newest first: `installed` (the shipped default, by `tierflow`), `uploaded` (a new "
        "version) or `reactivated` (a stored version uploaded again: a rollback), by whom (the token's subject), "
        "when, and the version it replaced (`details.previous`). Scope: `route:read` or `policy:write`."
    ),
)
async def history(_: PolicyReaderDep, routing: RoutingDep) -> list[ChangeRead]:
    return [ChangeRead.of(change) for change in await policies.policy_history(routing)]


@router.post(
    "",
    response_model=PolicyRead,
    status_code=201,
    responses=documented(
        400,
        409,
        s409="The version exists with another content, or the policy changes an experiment or holdout stored before.",
    ),
    summary="Upload a new routing policy version and make it active",
    description=(
        "The YAML is validated as a whole; an invalid policy is refused with every problem named (422) and nothing "
        "is stored. A version number cannot be reused for another content (409), and an experiment or holdout once "
        "stored keeps its population, arms, weights, shares and salt (409: a change is a new experiment id). "
        "Every customer decided under another version is re-routed by the worker within seconds. "
        "Audited (`GET /v1/policies/history`). "
        "Scope: `policy:write`."
    ),
)
async def upload(body: PolicyUpload, principal: PolicyWriterDep, routing: RoutingDep) -> PolicyRead:
    return PolicyRead.of(await policies.upload_policy(routing, body.yaml, actor=principal.subject))


@router.post(
    "/simulate",
    response_model=SimulationRead,
    responses=documented(400, 404, s404=NO_POLICY),
    summary="What a candidate policy would change, applying nothing",
    description=(
        "Evaluates the candidate against every routed customer and replays advisor assignment on the result under "
        "the candidate's resource shares and waitlist order: how many customers would move from each flow to each "
        "other flow, and each advisor's places per tier and resulting load, in all and by tier. "
        "Scope: `policy:write`."
    ),
)
async def simulate_policy(body: PolicyUpload, _: PolicyWriterDep, routing: RoutingDep) -> SimulationRead:
    return SimulationRead.of(await policies.simulate_policy(routing, body.yaml))
