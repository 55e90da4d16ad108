"""Bearer tokens at the HTTP edge: the verified caller as a dependency, and scope checks as dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from tierflow_common.auth import PermissionDenied, Principal, TokenVerifier
from tierflow_common.web.ratelimit import RateLimiter


@dataclass(frozen=True, slots=True)
class Gate:
    """How an API admits a caller: the token verifier and, optionally, a per-client rate limiter.

    Stored as `app.state.gate` when the API starts.
    """

    verifier: TokenVerifier
    limiter: RateLimiter | None = None


class BearerPrincipal(HTTPBearer):
    """The verified caller (401 when the token is missing or invalid), counted against its rate limit (429).

    A security scheme itself (so OpenAPI documents the bearer token) that resolves to the principal in
    one dependency: a route read is the hot path of every app open, and each dependency level costs.
    """

    async def __call__(self, request: HTTPConnection) -> Principal:  # type: ignore[override]
        gate: Gate = request.app.state.gate
        principal = gate.verifier.verify_header(request.headers.get("Authorization"))
        if gate.limiter is not None:
            await gate.limiter.check(principal)
        return principal


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
