"""/v1/advisors/{advisor_id}/coverage: the share of an advisor's promised tasks done on time, per tier."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from tierflow_common.web.errors import documented
from tierflow_notification.api.deps import ClientsDep, TaskReaderDep
from tierflow_notification.api.views import CoverageRead
from tierflow_notification.application import coverage

router = APIRouter(prefix="/v1/advisors", tags=["coverage"])

AdvisorPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/-]+$", examples=["ADV017"])]


@router.get(
    "/{advisor_id}/coverage",
    response_model=CoverageRead,
    responses=documented(s403="The scope is missing, or an advisor's token asks for another advisor's coverage."),
    summary="An advisor's service coverage over the last 30 days",
    description=(
        "Per tier: the tasks due in the last 30 days up to now and not cancelled (promised), those done by their "
        "due time (on time), their ratio (null when nothing was promised) and those still open past their due "
        "time (overdue); `overall` sums the tiers. An advisor without tasks answers zeros, not 404 (a new advisor "
        "has promised nothing yet). Scopes: `task:read` with an `advisor_id` claim (that advisor only), or "
        "`task:read:all` (any advisor)."
    ),
)
async def advisor_coverage(advisor_id: AdvisorPath, caller: TaskReaderDep, clients: ClientsDep) -> CoverageRead:
    """An advisor's coverage now."""
    figures = await coverage.advisor_coverage(clients.engine, caller=caller, advisor_id=advisor_id, clock=clients.clock)
    return CoverageRead.of(figures)
