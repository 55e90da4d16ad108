"""Request dependencies as Annotated aliases: the scoped caller and the use cases' context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tierflow_common.auth import Principal
from tierflow_common.web.security import requires
from tierflow_routing.api.security import (
    SCOPE_ADVISOR_WRITE,
    SCOPE_POLICY_WRITE,
    SCOPE_ROUTE_OVERRIDE,
    SCOPE_ROUTE_READ,
)
from tierflow_routing.application.context import RoutingContext


# Every dependency is `async def`: a plain `def` would be run in the thread pool, a thread hop per request.
async def get_routing(request: Request) -> RoutingContext:
    """The use cases' context, built at startup."""
    routing: RoutingContext = request.app.state.routing
    return routing


RoutingDep = Annotated[RoutingContext, Depends(get_routing)]
StaffReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ))]
AdvisorReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ, SCOPE_ADVISOR_WRITE))]
AdvisorWriterDep = Annotated[Principal, Depends(requires(SCOPE_ADVISOR_WRITE))]
OverriderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_OVERRIDE))]
PolicyReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ, SCOPE_POLICY_WRITE))]
PolicyWriterDep = Annotated[Principal, Depends(requires(SCOPE_POLICY_WRITE))]
