"""Profiles: one row per customer (the full profile as MessagePack) through the shared state store.

The hot path hands the store its asyncpg connection: one statement per batch each way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from tierflow_common.db.state_store import StateStore
from tierflow_profile.adapters.state import CODEC, from_state
from tierflow_profile.adapters.tables import profiles
from tierflow_profile.domain.profile import Profile


@dataclass(frozen=True, slots=True)
class ProfileWrite:
    """A profile to store, and when time alone will change it next (the sweeper's index)."""

    profile: Profile
    next_review_at: datetime | None


PROFILES: StateStore[Profile, ProfileWrite] = StateStore(
    profiles,
    CODEC,
    key_of=attrgetter("customer_id"),
    state_of=attrgetter("profile"),
    columns={"version": attrgetter("profile.version"), "next_review_at": attrgetter("next_review_at")},
    read=("version",),
    from_row=lambda raw, row: from_state(row["customer_id"], row["version"], raw),  # the row's id and version win
)
"""load_for_update, due_for_review_for_update, get and save of profiles."""
