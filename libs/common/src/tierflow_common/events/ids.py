"""Deterministic ids for derived events, so a re-published output keeps its event_id."""

from __future__ import annotations

import hashlib
from uuid import UUID

TIERFLOW_NAMESPACE = UUID("6f1f3c2e-4b7a-5d7e-9a51-0c1e8f2d7b10")
_NAMESPACE_BYTES = TIERFLOW_NAMESPACE.bytes


def derived_id_str(kind: str, *parts: object) -> str:
    """The canonical text of `derived_id(kind, *parts)`, built without a UUID object (hot paths)."""
    name = ":".join([kind, *(str(p) for p in parts)]).encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def derived_id(kind: str, *parts: object) -> UUID:
    """A UUIDv5 from a kind ("profile", "score", ...) and the parts that make the output unique."""
    return UUID(derived_id_str(kind, *parts))
