"""/v1/calls: a calling day's outbound calls per tier, against each tier's share of the day's capacity."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from tierflow_common.auth import Principal
from tierflow_common.exceptions import Invalid
from tierflow_common.web.errors import documented
from tierflow_common.web.security import requires
from tierflow_notification.api.deps import SCOPE_TASK_READ_ALL, ClientsDep
from tierflow_notification.api.views import CallsRead
from tierflow_notification.application import calls

router = APIRouter(prefix="/v1/calls", tags=["calls"])
SupervisorDep = Annotated[Principal, Depends(requires(SCOPE_TASK_READ_ALL))]


@router.get(
    "",
    response_model=CallsRead,
    responses=documented(s403="The scope `task:read:all` is missing (an advisor's token sees its own tasks only)."),
    summary="A calling day's outbound calls per tier against the tiers' shares",
    description=(
        "Per tier: its share of the day's outbound call capacity (`governance.calls` in the playbook file), the "
        "calls that share allows (null when `per_day` is 0: no limit) and the calls made (steps marked "
        "`outbound_call` handed to the workbench). `day` is the calling day in the capacity's timezone; today "
        "when left out. Scope: `task:read:all`."
    ),
)
async def calls_of_the_day(
    _: SupervisorDep,
    clients: ClientsDep,
    day: Annotated[
        str | None,
        Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD; today when left out.", examples=["2027-01-04"]),
    ] = None,
) -> CallsRead:
    """A day's calls per tier."""
    return CallsRead.of(await calls.call_day(clients.engine, clients.calls, day=_date(day), clock=clients.clock))


def _date(text: str | None) -> date | None:
    """The day asked for (a string with a pattern, not a `date`: a `date` query also takes `0` as 1970-01-01)."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(f"day: {text!r} is not a calendar date (YYYY-MM-DD)") from exc
