"""/v1/advisors: the advisor registry with live load."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response

from tierflow_routing.adapters import advisors
from tierflow_routing.adapters.advisors import AdvisorRow
from tierflow_routing.api.deps import AdvisorReaderDep, AdvisorWriterDep, ClientsDep
from tierflow_routing.api.routes.customers import errors
from tierflow_routing.api.views import AdvisorRead, AdvisorWrite

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
        "Raised capacity is used by the waitlist, oldest first. Scope: `advisor:write`."
    ),
)
async def put_one(
    advisor_id: AdvisorPath, body: AdvisorWrite, _: AdvisorWriterDep, clients: ClientsDep, response: Response
) -> AdvisorRead:
    async with clients.engine.begin() as conn:
        row, created = await advisors.upsert_advisor(
            conn,
            advisor_id=advisor_id,
            branch=body.branch,
            region=body.region,
            capacity=body.capacity,
            licence_level=body.licence_level,
            languages=body.languages,
            active=body.active,
            now=datetime.now(UTC),
        )
    response.status_code = 201 if created else 200
    return view(row)
