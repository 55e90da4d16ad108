"""Bearer tokens: one start-up check of the verification key for every service, and the token rules
(iat required, a maximum lifetime, claims typed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from tierflow_common.auth import AuthenticationError, JwtSettings, Principal, TokenVerifier, mint_token
from tierflow_common.config import Environment, InfraSettings
from tierflow_common.exceptions import ConfigurationError
from tierflow_notification.bootstrap import build_worker
from tierflow_notification.settings import NotificationSettings
from tierflow_routing.bootstrap import build_api_dependencies
from tierflow_routing.settings import RoutingSettings

GOOD = "kq3V9sX2pL7wN4zR8tY1uB6mC0dF5gH2jK"


def public_pem(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def keys(**values: Any) -> JwtSettings:
    return JwtSettings(**values)


@pytest.mark.parametrize("environment", ["production", "test"])
@pytest.mark.parametrize(
    "secret",
    [
        "",
        "short-but-random-8Hq",
        "dev-" + GOOD,
        "DEV-" + GOOD,  # case does not make a development secret safe
        "  changeme  ",
        "Secret",
        "a" * 40,  # long, not random
        "abababababababababababababababababab",
    ],
)
def test_weak_development_or_empty_hs256_secrets_are_refused_outside_development(
    secret: str, environment: Environment
) -> None:
    with pytest.raises(ConfigurationError, match="TIERFLOW_X_JWT_SECRET"):
        keys(jwt_secret=SecretStr(secret)).check_token_keys("TIERFLOW_X_", environment)


def test_development_accepts_a_development_secret_but_never_none() -> None:
    keys(jwt_secret=SecretStr("dev-local")).check_token_keys("TIERFLOW_X_", "development")
    with pytest.raises(ConfigurationError, match="TIERFLOW_X_JWT_SECRET is not set"):
        keys().check_token_keys("TIERFLOW_X_", "development")
    keys(jwt_secret=SecretStr(GOOD)).check_token_keys("TIERFLOW_X_", "production")


@pytest.mark.parametrize(
    ("pem", "problem"),
    [
        ("", "must hold a PEM public key"),
        ("-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n", "not a readable RSA public key"),
        (private_pem(), "must hold a PEM public key"),
        (public_pem(1024), "1024-bit key"),
    ],
    ids=["missing", "garbage", "a private key", "too short"],
)
def test_an_rs256_key_that_cannot_verify_refuses_start_up(pem: str, problem: str) -> None:
    for environment in ("development", "production"):
        with pytest.raises(ConfigurationError, match=f"TIERFLOW_X_JWT_PUBLIC_KEY.*{problem}"):
            keys(jwt_algorithm="RS256", jwt_public_key=pem).check_token_keys("TIERFLOW_X_", environment)  # type: ignore[arg-type]
    keys(jwt_algorithm="RS256", jwt_public_key=public_pem()).check_token_keys("TIERFLOW_X_", "production")


def production(cls: type[Any], **values: Any) -> Any:
    return cls(infra=InfraSettings(TIERFLOW_ENV="production"), **values)


@pytest.mark.parametrize(
    ("start", "settings_class", "variable"),
    [
        (build_api_dependencies, RoutingSettings, "TIERFLOW_ROUTING_JWT_SECRET"),
        (build_worker, NotificationSettings, "TIERFLOW_NOTIFICATION_JWT_SECRET"),
    ],
    ids=["routing API", "notification task API"],
)
@pytest.mark.parametrize("secret", ["", "dev-" + GOOD])
def test_every_service_that_verifies_tokens_refuses_to_start_with_a_weak_key(
    start: Callable[[Any], object], settings_class: type[Any], variable: str, secret: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        start(production(settings_class, jwt_secret=SecretStr(secret)))
    with pytest.raises(ConfigurationError, match=variable.replace("SECRET", "PUBLIC_KEY")):
        start(production(settings_class, jwt_algorithm="RS256", jwt_public_key="-----BEGIN PUBLIC KEY-----\nx\n"))


def verifier(**options: Any) -> TokenVerifier:
    return TokenVerifier(algorithm="HS256", key=GOOD, audience="tierflow", **options)


def signed(claims: dict[str, Any]) -> str:
    return jwt.encode({"sub": "s", "scope": "task:read", "aud": "tierflow", **claims}, GOOD, "HS256")


def test_a_token_without_iat_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="MissingRequiredClaimError"):
        verifier().verify(signed({"exp": int(time.time()) + 60}))


def test_a_token_living_longer_than_the_maximum_is_refused_though_unexpired() -> None:
    now = int(time.time())
    with pytest.raises(AuthenticationError, match="lifetime"):
        verifier(max_lifetime_s=3600).verify(signed({"iat": now, "exp": now + 3601}))
    years = mint_token(secret=GOOD, subject="s", scopes=["route:read"], ttl_s=10 * 365 * 86400)
    with pytest.raises(AuthenticationError, match="lifetime"):
        verifier().verify(years)  # the default maximum is a day
    assert verifier(max_lifetime_s=3600).verify(signed({"iat": now, "exp": now + 3600})).subject == "s"


def test_a_token_issued_in_the_future_is_refused() -> None:
    later = int(time.time()) + 3600
    with pytest.raises(AuthenticationError, match="ImmatureSignatureError"):
        verifier().verify(signed({"iat": later, "exp": later + 60}))


def test_the_maximum_lifetime_comes_from_the_settings() -> None:
    now = int(time.time())
    settings = keys(jwt_secret=SecretStr(GOOD), jwt_max_lifetime_s=600)
    with pytest.raises(AuthenticationError, match="over 600 seconds"):
        TokenVerifier.from_settings(settings).verify(signed({"iat": now, "exp": now + 601}))


def test_an_empty_key_refuses_every_token_instead_of_failing() -> None:
    token = mint_token(secret=GOOD, subject="s", scopes=["route:read"])
    with pytest.raises(AuthenticationError):  # was jwt.InvalidKeyError: a 500 on every request
        TokenVerifier(algorithm="HS256", key="", audience="tierflow").verify(token)


def test_an_advisor_token_carries_its_advisor_id_typed() -> None:
    token = mint_token(secret=GOOD, subject="adv-17", scopes=["task:read"], advisor_id="ADV017")
    assert verifier().verify(token) == Principal("adv-17", frozenset({"task:read"}), advisor_id="ADV017")
    now = int(time.time())
    with pytest.raises(AuthenticationError, match="advisor_id must be a string"):
        verifier().verify(signed({"iat": now, "exp": now + 60, "advisor_id": 17}))
