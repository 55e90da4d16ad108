"""/v1/waitlist: who waits for an advisor, in promotion order, with the figures that ranked each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from tierflow_common.web.errors import documented
from tierflow_routing.api.deps import AdvisorReaderDep, RoutingDep
from tierflow_routing.api.views import View
from tierflow_routing.application import waitlist
from tierflow_routing.domain.resources import WaitlistOrder

router = APIRouter(prefix="/v1/waitlist", tags=["advisors"])


class WaitlistPositionRead(View):
    position: int = Field(description="1 is offered the next free place their tier and region have room for.")
    customer_id: str
    tier: str | None = Field(description="The tier whose share of places the customer waits for.")
    region: str | None = Field(description="The customer's region (null: unknown, any region's advisor will do).")
    need_level: int = Field(description="The advisor licence level the customer needs (their suitability level).")
    waiting_since: datetime
    value_score: float = Field(description="From tierflow.score.v1 (0-1).")
    churn_score: float = Field(description="Churn probability from tierflow.score.v1 (0-1).")
    priority: float = Field(description="value_score x churn_score.")
    reason: str = Field(description="The figures that ranked the customer here.")


class WaitlistRead(View):
    order: WaitlistOrder = Field(description="The routing policy's `waitlist.order`.")
    policy_version: str | None = Field(description="The routing policy in force (null before there is one).")
    region: str | None
    total: int = Field(description="Customers waiting (for the region's advisors, when a region is given).")
    items: list[WaitlistPositionRead]

    @classmethod
    def of(cls, page: waitlist.WaitlistPage) -> WaitlistRead:
        """The view of the queue."""
        return cls(
            order=page.order,
            policy_version=page.policy_version,
            region=page.region,
            total=page.total,
            items=[
                WaitlistPositionRead(
                    position=p.position,
                    customer_id=p.entry.customer_id,
                    tier=p.entry.tier,
                    region=p.entry.region,
                    need_level=p.entry.need_level,
                    waiting_since=p.entry.requested_at,
                    value_score=p.entry.value_score,
                    churn_score=p.entry.churn_score,
                    priority=p.entry.priority,
                    reason=p.reason,
                )
                for p in page.positions
            ],
        )


@router.get(
    "",
    response_model=WaitlistRead,
    responses=documented(),
    summary="Customers waiting for an advisor, in promotion order",
    description=(
        "Everyone waiting on robo-advisor for an advisor place (`advisor_capacity_exhausted`), in the order free "
        "places are offered: by the routing policy's `waitlist.order` (`value_times_risk`: value score x churn "
        "probability, highest first; `arrival`: longest waiting first), arrival breaking ties. A place goes to the "
        "first customer some eligible advisor has room for (their tier under its share). With `region`, the "
        "customers competing for that region's advisors: its own and those of unknown region. "
        "Scope: `route:read` or `advisor:write`."
    ),
)
async def get_waitlist(
    _: AdvisorReaderDep,
    routing: RoutingDep,
    region: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> WaitlistRead:
    return WaitlistRead.of(await waitlist.waitlist(routing, region=region, limit=limit))
