"""Request dependencies as Annotated aliases: the caller (authenticated, rate limited, scoped) and the clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tierflow_common.web.security import requires
from tierflow_routing.api.security import (
    SCOPE_ADVISOR_WRITE,
    SCOPE_POLICY_WRITE,
    SCOPE_ROUTE_OVERRIDE,
    SCOPE_ROUTE_READ,
    Principal,
)
from tierflow_routing.bootstrap import ApiDependencies


# Every dependency is `async def`: a plain `def` would be run in the thread pool, a thread hop per request.
async def get_clients(request: Request) -> ApiDependencies:
    clients: ApiDependencies = request.app.state.clients
    return clients


ClientsDep = Annotated[ApiDependencies, Depends(get_clients)]
StaffReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ))]
AdvisorReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ, SCOPE_ADVISOR_WRITE))]
AdvisorWriterDep = Annotated[Principal, Depends(requires(SCOPE_ADVISOR_WRITE))]
OverriderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_OVERRIDE))]
PolicyReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ, SCOPE_POLICY_WRITE))]
PolicyWriterDep = Annotated[Principal, Depends(requires(SCOPE_POLICY_WRITE))]
