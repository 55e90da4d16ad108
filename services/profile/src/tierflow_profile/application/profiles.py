"""Use cases on stored profiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_profile.adapters.profiles import PROFILES
from tierflow_profile.application.errors import ProfileNotFound
from tierflow_profile.domain.snapshot import settle, view


async def current_view(engine: AsyncEngine, clock: Clock, customer_id: str) -> dict[str, Any]:
    """The customer's profile as the service would publish it now (the `tierflow.profile.v1` payload)."""
    async with engine.connect() as conn:
        profile = await PROFILES.get(conn, customer_id)
    if profile is None:
        raise ProfileNotFound(f"no profile for {customer_id}")
    now = clock.now()
    settle(profile, now)
    return view(profile, now)
