"""Bearer tokens: signature, expiry, audience, and the self-read rule for customer apps."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tierflow_routing.api.security import (
    AuthenticationError,
    PermissionDenied,
    Principal,
    TokenVerifier,
    authorize_route_read,
    mint_token,
)

SECRET = "a-test-secret-that-is-long-enough-0123456789"


def verifier() -> TokenVerifier:
    return TokenVerifier(algorithm="HS256", key=SECRET, audience="tierflow")


def test_a_valid_token_gives_its_principal() -> None:
    token = mint_token(secret=SECRET, subject="app", scopes=["route:read:self"], customer_id="C1")
    assert verifier().verify(token) == Principal("app", frozenset({"route:read:self"}), "C1")


def test_an_expired_token_is_refused() -> None:
    token = mint_token(secret=SECRET, subject="s", scopes=["route:read"], ttl_s=10, now=int(time.time()) - 3600)
    with pytest.raises(AuthenticationError, match="expired"):
        verifier().verify(token)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = mint_token(secret="another-secret-also-long-enough-0123456789", subject="s", scopes=["route:read"])
    with pytest.raises(AuthenticationError, match="InvalidSignatureError"):
        verifier().verify(token)


def test_a_token_for_another_audience_is_refused() -> None:
    token = mint_token(secret=SECRET, subject="s", scopes=["route:read"], audience="other")
    with pytest.raises(AuthenticationError, match="InvalidAudienceError"):
        verifier().verify(token)


def test_alg_none_is_refused() -> None:
    token = jwt.encode({"sub": "s", "scope": "route:read", "aud": "tierflow", "exp": time.time() + 60}, None, "none")
    with pytest.raises(AuthenticationError):
        verifier().verify(token)


def test_rs256_tokens_verify_with_the_public_key() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    now = int(time.time())  # tokens must carry iat (issue 11)
    token = jwt.encode(
        {"sub": "idp-user", "scope": "route:read", "aud": "tierflow", "iat": now, "exp": now + 60}, private, "RS256"
    )
    principal = TokenVerifier(algorithm="RS256", key=public_pem, audience="tierflow").verify(token)
    assert principal.scopes == {"route:read"}


def test_staff_read_anyone_customers_read_only_themselves() -> None:
    authorize_route_read(Principal("staff", frozenset({"route:read"})), "C2")
    authorize_route_read(Principal("app", frozenset({"route:read:self"}), "C1"), "C1")
    with pytest.raises(PermissionDenied, match="only its own customer"):
        authorize_route_read(Principal("app", frozenset({"route:read:self"}), "C1"), "C2")
    with pytest.raises(PermissionDenied, match="only its own customer"):
        authorize_route_read(Principal("app", frozenset({"route:read:self"})), "C1")
    with pytest.raises(PermissionDenied, match="required"):
        authorize_route_read(Principal("ops", frozenset({"policy:write"})), "C1")
