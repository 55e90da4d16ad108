"""Bearer tokens at the HTTP edge: the verified caller as a dependency, and scope checks as dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from tierflow_common.auth import AuthenticationError, PermissionDenied, Principal, TokenVerifier
from tierflow_common.web.ratelimit import RateLimiter

PRINCIPAL_STATE = "tierflow_principal"
"""Where `RequestGuard` leaves the caller it admitted before the body was read (the request's state)."""


@dataclass(frozen=True, slots=True)
class Gate:
    """How an API admits a caller: the token verifier and, optionally, a per-client rate limiter.

    Stored as `app.state.gate` when the API starts.
    """

    verifier: TokenVerifier
    limiter: RateLimiter | None = None

    async def admit(self, authorization: str | None, address: str | None) -> Principal:
        """The verified caller, counted against its rate limit (RateLimited).

        AuthenticationError without a valid token, after counting the request against the limit of
        unauthenticated requests of its address (RateLimited once that is spent).
        """
        try:
            principal = self.verifier.verify_header(authorization)
        except AuthenticationError:
            if self.limiter is not None:
                await self.limiter.check_unauthenticated(address or "unknown")
            raise
        if self.limiter is not None:
            await self.limiter.check(principal)
        return principal


def admitted(scope: Any) -> Principal | None:
    """The caller `RequestGuard` already admitted for this request, if it did."""
    state = scope.get("state")
    found = None if state is None else state.get(PRINCIPAL_STATE)
    return found if isinstance(found, Principal) else None


class BearerPrincipal(HTTPBearer):
    """The verified caller (401 when the token is missing or invalid), counted against its rate limit (429).

    A security scheme itself (so OpenAPI documents the bearer token) that resolves to the principal in
    one dependency: a route read is the hot path of every app open, and each dependency level costs.
    A request that carried a body was admitted by `RequestGuard` before the body was read; it is not
    verified or counted twice.
    """

    async def __call__(self, request: HTTPConnection) -> Principal:  # type: ignore[override]
        principal = admitted(request.scope)
        if principal is not None:
            return principal
        gate: Gate = request.app.state.gate
        client = request.client
        return await gate.admit(request.headers.get("Authorization"), None if client is None else client.host)


get_principal = BearerPrincipal(
    scheme_name="HTTPBearer", auto_error=False, description="JWT signed by the configured key; see docs/api.md."
)
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def requires(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through principals holding any of `scopes` (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.scopes & set(scopes):
            raise PermissionDenied(f"scope {' or '.join(scopes)} required")
        return principal

    return check
