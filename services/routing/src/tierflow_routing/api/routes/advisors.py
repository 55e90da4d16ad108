"""/v1/advisors: the advisor registry with live load."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from tierflow_routing.adapters import advisors, repository
from tierflow_routing.adapters.advisors import AdvisorRow
from tierflow_routing.api.deps import AdvisorReaderDep, AdvisorWriterDep, ClientsDep
from tierflow_routing.api.routes.customers import errors
from tierflow_routing.api.views import AdvisorRead, AdvisorWrite
from tierflow_routing.domain.decision import no_longer_suits

router = APIRouter(prefix="/v1/advisors", tags=["advisors"])

AdvisorPath = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9_.:/-]+$", examples=["ADV017"])]


def view(row: AdvisorRow) -> AdvisorRead:
    return AdvisorRead(
        advisor_id=row.advisor_id,
        branch=row.branch,
        region=row.region,
        capacity=row.capacity,
        licence_level=row.licence_level,
        languages=row.languages,
        active=row.active,
        load=row.load,
        free=max(0, row.capacity - row.load),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.get(
    "",
    response_model=list[AdvisorRead],
    responses=errors(),  # type: ignore[arg-type]
    summary="All advisors with their live load",
    description="Scope: `route:read` or `advisor:write`.",
)
async def list_all(_: AdvisorReaderDep, clients: ClientsDep) -> list[AdvisorRead]:
    async with clients.engine.connect() as conn:
        return [view(row) for row in await advisors.list_advisors(conn)]


@router.get(
    "/{advisor_id}",
    response_model=AdvisorRead,
    responses=errors(404),  # type: ignore[arg-type]
    summary="One advisor with their live load",
    description="Scope: `route:read` or `advisor:write`.",
)
async def get_one(advisor_id: AdvisorPath, _: AdvisorReaderDep, clients: ClientsDep) -> AdvisorRead:
    async with clients.engine.connect() as conn:
        row = await advisors.get_advisor_row(conn, advisor_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such advisor")
    return view(row)


@router.put(
    "/{advisor_id}",
    response_model=AdvisorRead,
    responses={**errors(400), 201: {"model": AdvisorRead, "description": "Created."}},  # type: ignore[dict-item]
    summary="Create or update an advisor",
    description=(
        "Capacity can be lowered below the current load: nobody is moved, new assignments stop until load falls. "
        "Raised capacity is used by the waitlist, oldest first. Deactivating the advisor, changing their region "
        "or lowering their licence level routes their current customers again at the next sweep (to another "
        "eligible advisor with room, or the waitlist); a staff override naming the advisor stays. "
        "Scope: `advisor:write`."
    ),
)
async def put_one(
    advisor_id: AdvisorPath, body: AdvisorWrite, _: AdvisorWriterDep, clients: ClientsDep, response: Response
) -> AdvisorRead:
    now = datetime.now(UTC)
    async with clients.engine.begin() as conn:
        before = await advisors.get_advisor(conn, advisor_id)
        row, created = await advisors.upsert_advisor(
            conn,
            advisor_id=advisor_id,
            branch=body.branch,
            region=body.region,
            capacity=body.capacity,
            licence_level=body.licence_level,
            languages=body.languages,
            active=body.active,
            now=now,
        )
        if before is not None and no_longer_suits(before, row.advisor()):
            # Their customers are routed again at the next sweep: to another advisor or the waitlist.
            await repository.mark_advisor_customers_due(conn, advisor_id=advisor_id, at=now)
    response.status_code = 201 if created else 200
    return view(row)
