"""Profile <-> the compact document stored in profiles.state: MessagePack via msgspec.

Money stays Decimal (encoded as decimal strings), times are MessagePack timestamps (UTC), and
the layout is positional, so a stored profile is small and decoding it takes microseconds.
A leading format byte lets a later layout be told apart.
"""

from __future__ import annotations

from tierflow_common.db.state_store import StateCodec
from tierflow_profile.domain.profile import Profile

STATE_FORMAT = b"\x02"
CODEC = StateCodec(
    Profile,
    format_marker=STATE_FORMAT,
    unknown_format="unknown profile state format; rebuild the profiles (tierflow profile rebuild)",
)


def to_state(profile: Profile) -> bytes:
    """The stored document of a profile."""
    return CODEC.encode(profile)


def from_state(customer_id: str, version: int, raw: bytes) -> Profile:
    """Rebuild a Profile from its stored document (the row's id and version are authoritative)."""
    profile = CODEC.decode(raw)
    profile.customer_id = customer_id
    profile.version = version
    return profile
