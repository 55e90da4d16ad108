"""/v1/advisors: the advisor registry with live load."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from tierflow_common.web.errors import documented
from tierflow_routing.api.audit_views import ChangeRead
from tierflow_routing.api.deps import AdvisorReaderDep, AdvisorWriterDep, RoutingDep
from tierflow_routing.api.views import AdvisorRead, AdvisorWrite
from tierflow_routing.application import advisors

router = APIRouter(prefix="/v1/advisors", tags=["advisors"])

AdvisorPath = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9_.:/-]+$", examples=["ADV017"])]


@router.get(
    "",
    response_model=list[AdvisorRead],
    responses=documented(),
    summary="All advisors with their live load, and their places and load per tier",
    description="Scope: `route:read` or `advisor:write`.",
)
async def list_all(_: AdvisorReaderDep, routing: RoutingDep) -> list[AdvisorRead]:
    return [AdvisorRead.of(record, places) for record, places in await advisors.list_advisors(routing)]


@router.get(
    "/{advisor_id}",
    response_model=AdvisorRead,
    responses=documented(404, s404="No advisor is registered under this id."),
    summary="One advisor with their live load",
    description="Scope: `route:read` or `advisor:write`.",
)
async def get_one(advisor_id: AdvisorPath, _: AdvisorReaderDep, routing: RoutingDep) -> AdvisorRead:
    return AdvisorRead.of(*await advisors.get_advisor(routing, advisor_id))


@router.get(
    "/{advisor_id}/history",
    response_model=list[ChangeRead],
    responses=documented(404, s404="No advisor is registered under this id."),
    summary="Who created and changed the advisor",
    description=(
        "The advisor's last 50 writes, newest first: `created` (every field set) or `updated` (the fields it "
        "changed, from and to), by whom (the token's subject) and when. Scope: `route:read` or `advisor:write`."
    ),
)
async def history(advisor_id: AdvisorPath, _: AdvisorReaderDep, routing: RoutingDep) -> list[ChangeRead]:
    return [ChangeRead.of(change) for change in await advisors.advisor_history(routing, advisor_id)]


@router.put(
    "/{advisor_id}",
    response_model=AdvisorRead,
    responses={**documented(400), 201: {"model": AdvisorRead, "description": "Created."}},
    summary="Create or update an advisor",
    description=(
        "Capacity can be lowered below the current load: nobody is moved, new assignments stop until load falls. "
        "Raised capacity is used by the waitlist, in its order (`GET /v1/waitlist`). Deactivating the advisor, "
        "changing their region or lowering their licence level routes their current customers again at the next "
        "sweep (to another eligible advisor with room, or the waitlist); a staff override naming the advisor stays. "
        "Audited: who (the token's subject), when, what changed (`GET /v1/advisors/{advisor_id}/history`). "
        "Scope: `advisor:write`."
    ),
)
async def put_one(
    advisor_id: AdvisorPath, body: AdvisorWrite, principal: AdvisorWriterDep, routing: RoutingDep, response: Response
) -> AdvisorRead:
    _, created = await advisors.put_advisor(routing, advisor_id, body.change(), actor=principal.subject)
    response.status_code = 201 if created else 200
    return AdvisorRead.of(*await advisors.get_advisor(routing, advisor_id))
