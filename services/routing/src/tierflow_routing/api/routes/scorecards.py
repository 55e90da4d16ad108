"""/v1/advisors/{advisor_id}/scorecard: an advisor's book and how it fares."""

from __future__ import annotations

from fastapi import APIRouter

from tierflow_common.web.errors import documented
from tierflow_routing.api.deps import AdvisorReaderDep, RoutingDep
from tierflow_routing.api.routes.advisors import AdvisorPath
from tierflow_routing.api.scorecard_views import ScorecardRead
from tierflow_routing.application import scorecards

router = APIRouter(prefix="/v1/advisors", tags=["advisors"])


@router.get(
    "/{advisor_id}/scorecard",
    response_model=ScorecardRead,
    responses=documented(404, s404="No advisor is registered under this id."),
    summary="The advisor's scorecard: book by tier, retention, net inflow, AUM change, NPS",
    description=(
        "Computed live from routing's routes, customer states and 90-day outcome windows (docs/api.md defines each "
        "figure). `coverage` is null: coverage and overdue tasks come from notification's "
        "`GET /v1/advisors/{advisor_id}/coverage`. Scope: `route:read` or `advisor:write`."
    ),
)
async def get_scorecard(advisor_id: AdvisorPath, _: AdvisorReaderDep, routing: RoutingDep) -> ScorecardRead:
    return ScorecardRead.of(await scorecards.advisor_scorecard(routing, advisor_id))
