"""Profile <-> the compact document stored in profiles.state: MessagePack via msgspec.

Money stays Decimal (encoded as decimal strings), times are MessagePack timestamps (UTC), and
the layout is positional, so a stored profile is small and decoding it takes microseconds.
A leading format byte lets a later layout be told apart.
"""

from __future__ import annotations

import msgspec

from tierflow_profile.domain.profile import Profile

STATE_FORMAT = b"\x02"
_encoder = msgspec.msgpack.Encoder(decimal_format="string")
_decoder = msgspec.msgpack.Decoder(Profile)


def to_state(profile: Profile) -> bytes:
    """The stored document of a profile."""
    return STATE_FORMAT + _encoder.encode(profile)


def from_state(customer_id: str, version: int, raw: bytes) -> Profile:
    """Rebuild a Profile from its stored document (the row's id and version are authoritative)."""
    if raw[:1] != STATE_FORMAT:
        raise ValueError("unknown profile state format; rebuild the profiles (tierflow profile rebuild)")
    profile = _decoder.decode(raw[1:])
    profile.customer_id = customer_id
    profile.version = version
    return profile
