"""Bearer JWTs: verification, the principal they describe, and the scope rules."""

from __future__ import annotations

from tierflow_common.auth import AuthenticationError, PermissionDenied, Principal, TokenVerifier, mint_token

SCOPE_ROUTE_READ = "route:read"
SCOPE_ROUTE_READ_SELF = "route:read:self"
SCOPE_ROUTE_OVERRIDE = "route:override"
SCOPE_POLICY_WRITE = "policy:write"
SCOPE_ADVISOR_WRITE = "advisor:write"


def authorize_route_read(principal: Principal, customer_id: str) -> bool:
    """Staff with route:read read anyone; a customer token (route:read:self) reads only its own customer.

    True when the reader is the customer themselves: they get the customer-facing views, without the
    churn internals (churn band and score, P(alive), signals, reasons).
    """
    if SCOPE_ROUTE_READ in principal.scopes:
        return False
    if SCOPE_ROUTE_READ_SELF in principal.scopes:
        if principal.customer_id is not None and principal.customer_id == customer_id:
            return True
        raise PermissionDenied("this token may read only its own customer")
    raise PermissionDenied(f"scope {SCOPE_ROUTE_READ} or {SCOPE_ROUTE_READ_SELF} required")


__all__ = [
    "AuthenticationError",
    "PermissionDenied",
    "Principal",
    "TokenVerifier",
    "authorize_route_read",
    "mint_token",
]
