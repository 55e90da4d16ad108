"""What "the same event" means beside its event_id: the content hash every inbox keeps (docs/events.md).

The hash is SHA-256 over the message value in canonical JSON: parsed and written again with object
keys sorted (by code point), no insignificant whitespace, strings in UTF-8 with only the escapes JSON
requires (lowercase `\\u00xx` for control characters). Key order and whitespace therefore do not
matter; every value does, as written: a timestamp with another offset or an amount with another
number of decimals is other content. For the input topics, which carry no fractional JSON numbers,
this is the RFC 8785 (JCS) canonical form. A value that is not JSON (never handed to a service: the
contract refuses it first) is hashed as it is.
"""

from __future__ import annotations

import hashlib

import orjson

CONTENT_HASH_NAME = "sha256"
"""The algorithm, as docs and dead-letter reasons name it."""


def canonical_json(value: bytes) -> bytes:
    """The canonical JSON text of a message value (keys sorted, compact, UTF-8)."""
    try:
        return orjson.dumps(orjson.loads(value), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return value


def content_hash(value: bytes) -> bytes:
    """The 32-byte SHA-256 of a message value's canonical JSON."""
    return hashlib.sha256(canonical_json(value)).digest()
