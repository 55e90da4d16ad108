"""The advisor scorecard: the adapter reads the book and the matured windows, the domain computes the figures."""

from __future__ import annotations

from tierflow_routing.adapters import advisors, scorecards
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.errors import UnknownAdvisor
from tierflow_routing.domain.scorecard import Scorecard, scorecard


async def advisor_scorecard(ctx: RoutingContext, advisor_id: str) -> Scorecard:
    """The scorecard of a registered advisor (UnknownAdvisor otherwise); coverage is notification's."""
    async with ctx.engine.connect() as conn:
        if await advisors.get_advisor(conn, advisor_id) is None:
            raise UnknownAdvisor("no such advisor")
        book = await scorecards.book(conn, advisor_id=advisor_id)
        windows = await scorecards.matured_windows(conn, advisor_id=advisor_id)
    return scorecard(advisor_id, book, windows)
