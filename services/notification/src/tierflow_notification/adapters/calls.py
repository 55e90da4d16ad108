"""The `call_capacity` table: outbound calls used per day and tier, taken one at a time in a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import Tier
from tierflow_notification.adapters.tables import call_capacity


async def lock_day(conn: AsyncConnection, *, day: date, tiers: Iterable[Tier]) -> None:
    """Lock the day's rows of these tiers, in A-D order, for the rest of the transaction (creating them at 0).

    A runner's batch takes calls of several tiers in due order; two runners locking the same rows in different
    orders would deadlock. Locked first, in one order, the takes that follow wait for nothing.
    """
    ordered = sorted({tier.value for tier in tiers})
    if not ordered:
        return
    await conn.execute(
        insert(call_capacity).on_conflict_do_nothing(), [{"day": day, "tier": tier, "used": 0} for tier in ordered]
    )
    await conn.execute(
        select(call_capacity.c.tier)
        .where(call_capacity.c.day == day, call_capacity.c.tier.in_(ordered))
        .order_by(call_capacity.c.tier)
        .with_for_update()
    )


async def take_call(conn: AsyncConnection, *, day: date, tier: Tier, limit: int) -> bool:
    """Count one call of `tier` on `day` if the tier has one left under `limit`; False (nothing counted) otherwise.

    One statement, atomic across runners: the row's lock orders concurrent takers, and the increment only
    happens while `used` is under the limit, so no two runners together pass it. Call `lock_day` first when a
    transaction may take calls of several tiers.
    """
    if limit <= 0:
        return False
    taken = insert(call_capacity).values(day=day, tier=tier.value, used=1)
    taken = taken.on_conflict_do_update(
        index_elements=[call_capacity.c.day, call_capacity.c.tier],
        set_={"used": call_capacity.c.used + 1},
        where=call_capacity.c.used < limit,
    )
    return (await conn.execute(taken.returning(call_capacity.c.used))).first() is not None


async def calls_used(conn: AsyncConnection, *, day: date) -> dict[Tier, int]:
    """The calls each tier used on `day` (0 for a tier without any)."""
    rows = await conn.execute(select(call_capacity.c.tier, call_capacity.c.used).where(call_capacity.c.day == day))
    used = dict.fromkeys(Tier, 0)
    for row in rows:
        used[Tier(row.tier)] = row.used
    return used
