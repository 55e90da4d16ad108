"""Bearer JWTs shared by every tierflow HTTP API: verification, the principal, development tokens.

The keys come from the environment through `JwtSettings`, mixed into each service's settings, and
`JwtSettings.check_token_keys` is the one start-up check of them for every service that verifies
tokens (the routing API, the notification service's task API).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from jwt.algorithms import RSAAlgorithm
from pydantic import BaseModel, Field, SecretStr

from tierflow_common.config import Environment, require_safe_secret
from tierflow_common.exceptions import ConfigurationError
from tierflow_common.metrics import API_TOKEN_CACHE

DEFAULT_MAX_LIFETIME_S = 24 * 3600
MIN_RSA_BITS = 2048


class JwtSettings(BaseModel):
    """How bearer tokens are checked (mixed into a service's settings, so under its env prefix)."""

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr = SecretStr("")
    jwt_public_key: str = Field(default="", description="PEM of the RS256 public key (for RS256).")
    jwt_audience: str = "tierflow"
    jwt_issuer: str | None = None
    jwt_max_lifetime_s: int = Field(
        default=DEFAULT_MAX_LIFETIME_S,
        ge=60,
        description="Tokens whose exp - iat is longer are refused, however far their exp is.",
    )

    def check_token_keys(self, env_prefix: str, environment: Environment) -> None:
        """Refuse to start with a key that cannot verify tokens safely (ConfigurationError naming the variable).

        HS256: a secret is required in every environment, and outside development it must be long,
        random-looking and not a development one (`require_safe_secret`). RS256: the public key must be
        an RSA public key in PEM of at least 2048 bits, in every environment: a key that does not load
        would otherwise fail every request.
        """
        if self.jwt_algorithm == "HS256":
            name = f"{env_prefix}JWT_SECRET"
            if not self.jwt_secret.get_secret_value():
                raise ConfigurationError(f"{name} is not set (HS256 needs a secret)")
            require_safe_secret(name, self.jwt_secret, environment)
            return
        name = f"{env_prefix}JWT_PUBLIC_KEY"
        pem = self.jwt_public_key.strip()
        if "-----BEGIN PUBLIC KEY-----" not in pem:
            raise ConfigurationError(f"{name} must hold a PEM public key (-----BEGIN PUBLIC KEY-----) for RS256")
        try:
            key = RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(pem)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise ConfigurationError(f"{name} is not a readable RSA public key: {type(exc).__name__}") from None
        if not hasattr(key, "public_numbers") or hasattr(key, "private_numbers"):
            raise ConfigurationError(f"{name} must be an RSA public key")
        if key.key_size < MIN_RSA_BITS:
            raise ConfigurationError(f"{name} is a {key.key_size}-bit key; at least {MIN_RSA_BITS} bits are needed")


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
    advisor_id: str | None = None  # an advisor's own token: the advisor whose tasks it reaches


LEEWAY_S = 30


class TokenVerifier:
    """Checks signature, expiry, issue time and lifetime, audience (and issuer if configured); extracts the principal.

    Every token must carry `iat`, and `exp - iat` may not exceed `max_lifetime_s`: a token minted to
    live for years is refused even while its `exp` is ahead.

    A front end sends the same token with every request until it expires, so the principals of
    tokens that verified are remembered (at most `remember` of them, oldest forgotten first) and a
    repeated token costs a dictionary lookup and an expiry check instead of a signature check.
    Only valid tokens are remembered; the expiry is checked on every use.
    """

    def __init__(
        self,
        *,
        algorithm: str,
        key: str,
        audience: str,
        issuer: str | None = None,
        remember: int = 10_000,
        max_lifetime_s: int = DEFAULT_MAX_LIFETIME_S,
    ) -> None:
        self._algorithm = algorithm
        self._key = key
        self._audience = audience
        self._issuer = issuer
        self._remember = remember
        self._max_lifetime_s = max_lifetime_s
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, expires at)

    @classmethod
    def from_settings(cls, settings: JwtSettings) -> TokenVerifier:
        key = settings.jwt_public_key if settings.jwt_algorithm == "RS256" else settings.jwt_secret.get_secret_value()
        return cls(
            algorithm=settings.jwt_algorithm,
            key=key,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            max_lifetime_s=settings.jwt_max_lifetime_s,
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
        API_TOKEN_CACHE.set(len(self._verified))
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        if not self._key:  # refused at start-up (check_token_keys); never verify against an empty key
            raise AuthenticationError("invalid token: no verification key is configured")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "scope"]},
                leeway=LEEWAY_S,
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("token expired") from exc
        except jwt.PyJWTError as exc:  # InvalidTokenError, and a key the algorithm refuses (InvalidKeyError)
            raise AuthenticationError(f"invalid token: {type(exc).__name__}") from exc
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > self._max_lifetime_s:
            raise AuthenticationError(f"invalid token: lifetime (exp - iat) over {self._max_lifetime_s} seconds")
        scope = claims.get("scope")
        if not isinstance(scope, str):
            raise AuthenticationError("invalid token: scope must be a space-separated string")
        customer_id, advisor_id = claims.get("customer_id"), claims.get("advisor_id")
        if customer_id is not None and not isinstance(customer_id, str):
            raise AuthenticationError("invalid token: customer_id must be a string")
        if advisor_id is not None and not isinstance(advisor_id, str):
            raise AuthenticationError("invalid token: advisor_id must be a string")
        principal = Principal(
            subject=str(claims["sub"]),
            scopes=frozenset(scope.split()),
            customer_id=customer_id,
            advisor_id=advisor_id,
        )
        return principal, float(claims["exp"])


def mint_token(
    *,
    secret: str,
    subject: str,
    scopes: list[str],
    customer_id: str | None = None,
    advisor_id: str | None = None,
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
    if advisor_id is not None:
        claims["advisor_id"] = advisor_id
    return jwt.encode(claims, secret, algorithm=algorithm)
