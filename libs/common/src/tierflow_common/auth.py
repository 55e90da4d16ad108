"""Bearer JWTs shared by every tierflow HTTP API: verification, the principal, development tokens.

The keys come from the environment through `JwtSettings`, mixed into each service's settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from pydantic import BaseModel, Field, SecretStr


class JwtSettings(BaseModel):
    """How bearer tokens are checked (mixed into a service's settings, so under its env prefix)."""

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr = SecretStr("")
    jwt_public_key: str = Field(default="", description="PEM of the RS256 public key (for RS256).")
    jwt_audience: str = "tierflow"
    jwt_issuer: str | None = None


class AuthenticationError(Exception):
    """The token is missing, malformed, expired or not signed by us (HTTP 401)."""


class PermissionDenied(Exception):
    """The token is valid but does not allow this request (HTTP 403)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a staff member or service (scopes), or a customer's app (its own customer_id)."""

    subject: str
    scopes: frozenset[str]
    customer_id: str | None = None


LEEWAY_S = 30


class TokenVerifier:
    """Checks signature, expiry, audience (and issuer if configured) and extracts the principal.

    A front end sends the same token with every request until it expires, so the principals of
    tokens that verified are remembered (at most `remember` of them, oldest forgotten first) and a
    repeated token costs a dictionary lookup and an expiry check instead of a signature check.
    Only valid tokens are remembered; the expiry is checked on every use.
    """

    def __init__(
        self, *, algorithm: str, key: str, audience: str, issuer: str | None = None, remember: int = 10_000
    ) -> None:
        self._algorithm = algorithm
        self._key = key
        self._audience = audience
        self._issuer = issuer
        self._remember = remember
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, expires at)

    @classmethod
    def from_settings(cls, settings: JwtSettings) -> TokenVerifier:
        key = settings.jwt_public_key if settings.jwt_algorithm == "RS256" else settings.jwt_secret.get_secret_value()
        return cls(
            algorithm=settings.jwt_algorithm, key=key, audience=settings.jwt_audience, issuer=settings.jwt_issuer
        )

    def verify_header(self, authorization: str | None) -> Principal:
        """The principal of an `Authorization: Bearer <token>` header; AuthenticationError otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("bearer token required")
        return self.verify(token.strip())

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; AuthenticationError otherwise."""
        known = self._verified.get(token)
        if known is not None:
            principal, expires_at = known
            if time.time() < expires_at + LEEWAY_S:
                return principal
            del self._verified[token]
            raise AuthenticationError("token expired")
        principal, expires_at = self._decode(token)
        if len(self._verified) >= self._remember:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, expires_at)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub", "scope"]},
                leeway=LEEWAY_S,
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"invalid token: {type(exc).__name__}") from exc
        scope = claims.get("scope")
        if not isinstance(scope, str):
            raise AuthenticationError("invalid token: scope must be a space-separated string")
        customer_id = claims.get("customer_id")
        if customer_id is not None and not isinstance(customer_id, str):
            raise AuthenticationError("invalid token: customer_id must be a string")
        principal = Principal(subject=str(claims["sub"]), scopes=frozenset(scope.split()), customer_id=customer_id)
        return principal, float(claims["exp"])


def mint_token(
    *,
    secret: str,
    subject: str,
    scopes: list[str],
    customer_id: str | None = None,
    audience: str = "tierflow",
    ttl_s: int = 3600,
    algorithm: str = "HS256",
    now: int | None = None,
) -> str:
    """Sign a token (development and tests; production tokens come from the identity provider)."""
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "sub": subject,
        "scope": " ".join(scopes),
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    if customer_id is not None:
        claims["customer_id"] = customer_id
    return jwt.encode(claims, secret, algorithm=algorithm)
