"""Request dependencies as Annotated aliases: the caller (authenticated, rate limited, scoped) and the clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from tierflow_routing.api.security import (
    SCOPE_ADVISOR_WRITE,
    SCOPE_POLICY_WRITE,
    SCOPE_ROUTE_OVERRIDE,
    SCOPE_ROUTE_READ,
    PermissionDenied,
    Principal,
)
from tierflow_routing.bootstrap import ApiDependencies


class BearerPrincipal(HTTPBearer):
    """The verified caller (401 when the token is missing or invalid), counted against its rate limit (429).

    A security scheme itself (so OpenAPI documents the bearer token) that resolves to the principal in
    one dependency: the route read is the hot path of every app open, and each dependency level costs.
    """

    async def __call__(self, request: HTTPConnection) -> Principal:  # type: ignore[override]
        clients: ApiDependencies = request.app.state.clients
        principal = clients.verifier.verify_header(request.headers.get("Authorization"))
        await clients.limiter.check(principal)
        return principal


get_principal = BearerPrincipal(
    scheme_name="HTTPBearer", auto_error=False, description="JWT signed by the configured key; see docs/api.md."
)


# Every dependency is `async def`: a plain `def` would be run in the thread pool, a thread hop per request.
async def get_clients(request: Request) -> ApiDependencies:
    clients: ApiDependencies = request.app.state.clients
    return clients


def requires(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through principals holding any of `scopes` (403 otherwise)."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.scopes & set(scopes):
            raise PermissionDenied(f"scope {' or '.join(scopes)} required")
        return principal

    return check


ClientsDep = Annotated[ApiDependencies, Depends(get_clients)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
StaffReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ))]
AdvisorReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ, SCOPE_ADVISOR_WRITE))]
AdvisorWriterDep = Annotated[Principal, Depends(requires(SCOPE_ADVISOR_WRITE))]
OverriderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_OVERRIDE))]
PolicyReaderDep = Annotated[Principal, Depends(requires(SCOPE_ROUTE_READ, SCOPE_POLICY_WRITE))]
PolicyWriterDep = Annotated[Principal, Depends(requires(SCOPE_POLICY_WRITE))]
