"""Advisors, their live load (by tier), and the waitlist. Capacity and the tier's places are checked in the same
statement that takes a place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, delete, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.adapters.tables import advisors, waitlist
from tierflow_routing.domain.advisors import Advisor
from tierflow_routing.domain.resources import TIERS
from tierflow_routing.domain.waitlist import Waiting


@dataclass(frozen=True, slots=True)
class AdvisorRecord:
    """An advisor as registered, with their live load."""

    advisor_id: str
    branch: str
    region: str
    capacity: int
    licence_level: int
    languages: list[str]
    active: bool
    load: int
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    updated_by: str | None = None
    used_by_tier: dict[str, int] | None = None

    def advisor(self) -> Advisor:
        """What routing needs to know of the advisor."""
        return Advisor(
            self.advisor_id, self.region, self.capacity, self.licence_level, self.load, self.active,
            dict(self.used_by_tier or {}),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AdvisorChange:
    """What staff set on an advisor (the load is routing's own)."""

    branch: str
    region: str
    capacity: int
    licence_level: int
    languages: Sequence[str]
    active: bool


def tier_load(tier: str) -> Column[int]:
    """The column counting the advisor's places held under `tier`."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}")
    column: Column[int] = advisors.c[f"load_{tier.lower()}"]
    return column


_TIER_LOADS = [tier_load(tier) for tier in TIERS]
_SEAT = select(
    advisors.c.advisor_id, advisors.c.region, advisors.c.capacity, advisors.c.licence_level, advisors.c.load,
    advisors.c.active, *_TIER_LOADS,
)  # fmt: skip


def _used(row: RowMapping) -> dict[str, int]:
    return {tier: int(row[f"load_{tier.lower()}"]) for tier in TIERS}


def _advisor(row: RowMapping) -> Advisor:
    return Advisor(
        row["advisor_id"], row["region"], row["capacity"], row["licence_level"], row["load"], row["active"], _used(row)
    )


def _record(row: RowMapping) -> AdvisorRecord:
    fields = {name: row[name] for name in AdvisorRecord.__dataclass_fields__ if name != "used_by_tier"}
    return AdvisorRecord(**fields, used_by_tier=_used(row))


async def team(conn: AsyncConnection, *, region: str | None = None) -> list[Advisor]:
    """The advisors of `region` (every advisor when None), with their load by tier: the places of a region are
    split among tiers together (domain/shares.py), so a customer's pool is the whole region, not just the
    advisors licensed for them."""
    query = _SEAT if region is None else _SEAT.where(advisors.c.region == region)
    return [_advisor(row) for row in (await conn.execute(query.order_by(advisors.c.advisor_id))).mappings()]


async def get_advisor(conn: AsyncConnection, advisor_id: str) -> Advisor | None:
    """What routing needs to know of one advisor, or None."""
    row = (await conn.execute(_SEAT.where(advisors.c.advisor_id == advisor_id))).mappings().first()
    return None if row is None else _advisor(row)


async def reserve(
    conn: AsyncConnection, advisor_id: str, *, tier: str, places: int | None = None, capacity: int | None = None
) -> bool:
    """Take one of the advisor's places for a customer of `tier` if there is one left (atomic: never over
    capacity) and, unless `places` is None (a staff override), while the tier holds fewer than `places` there.

    The WHERE clause is re-checked on the locked row after waiting for a concurrent writer, so two routing
    processes cannot both take the last place. `places` was worked out from `capacity`: when the capacity has
    changed meanwhile, nothing is taken (the caller tries the next advisor; the sweeper offers places again).
    """
    used = tier_load(tier)
    conditions = [advisors.c.advisor_id == advisor_id, advisors.c.active, advisors.c.load < advisors.c.capacity]
    if places is not None:
        conditions.append(used < places)
    if capacity is not None:
        conditions.append(advisors.c.capacity == capacity)
    result = await conn.execute(
        update(advisors)
        .where(*conditions)
        .values({advisors.c.load: advisors.c.load + 1, used: used + 1})
        .returning(advisors.c.advisor_id)
    )
    return result.first() is not None


async def release(conn: AsyncConnection, advisor_id: str, *, tier: str) -> None:
    """Give back one of the advisor's places, counted under `tier`."""
    used = tier_load(tier)
    await conn.execute(
        update(advisors)
        .where(advisors.c.advisor_id == advisor_id)
        .values({advisors.c.load: func.greatest(advisors.c.load - 1, 0), used: func.greatest(used - 1, 0)})
    )


async def recount(conn: AsyncConnection, advisor_id: str, *, from_tier: str, to_tier: str) -> None:
    """Count a place the customer keeps under their new tier (sticky: kept even when the tier is over its share)."""
    if from_tier == to_tier:
        return
    before, after = tier_load(from_tier), tier_load(to_tier)
    await conn.execute(
        update(advisors)
        .where(advisors.c.advisor_id == advisor_id)
        .values({before: func.greatest(before - 1, 0), after: after + 1})
    )


async def list_advisors(conn: AsyncConnection) -> list[AdvisorRecord]:
    """Every registered advisor, by id."""
    rows = await conn.execute(select(advisors).order_by(advisors.c.advisor_id))
    return [_record(row) for row in rows.mappings()]


async def get_advisor_record(conn: AsyncConnection, advisor_id: str) -> AdvisorRecord | None:
    """One registered advisor, or None."""
    row = (await conn.execute(select(advisors).where(advisors.c.advisor_id == advisor_id))).mappings().first()
    return None if row is None else _record(row)


async def upsert_advisor(
    conn: AsyncConnection, *, advisor_id: str, change: AdvisorChange, now: datetime, actor: str
) -> tuple[AdvisorRecord, bool]:
    """Create or update an advisor as `actor` (load and creator are kept); True when it was created."""
    values = {
        "branch": change.branch,
        "region": change.region,
        "capacity": change.capacity,
        "licence_level": change.licence_level,
        "languages": list(change.languages),
        "active": change.active,
        "updated_at": now,
        "updated_by": actor,
    }
    stmt = insert(advisors).values(advisor_id=advisor_id, load=0, created_at=now, created_by=actor, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[advisors.c.advisor_id], set_={name: stmt.excluded[name] for name in values}
    )
    created = (literal_column("xmax") == 0).label("created")  # no earlier row version: an insert
    row = (await conn.execute(stmt.returning(*advisors.columns, created))).mappings().one()
    return _record(row), bool(row["created"])


async def free_capacity(conn: AsyncConnection) -> int:
    """Places left across all active advisors."""
    free = func.coalesce(func.sum(func.greatest(advisors.c.capacity - advisors.c.load, 0)), 0)
    return int((await conn.execute(select(free).where(advisors.c.active))).scalar_one())


async def join_waitlist(conn: AsyncConnection, entry: Waiting) -> None:
    """Put a customer on the waitlist; a customer already waiting keeps their arrival (their region, suitability
    need, tier and figures follow the profile and score, so promotion looks for the right advisor and the order
    follows the latest value and churn scores)."""
    stmt = insert(waitlist).values(
        customer_id=entry.customer_id,
        region=entry.region,
        need_level=entry.need_level,
        requested_at=entry.requested_at,
        tier=entry.tier,
        value_score=entry.value_score,
        churn_score=entry.churn_score,
    )
    followed = ("region", "need_level", "tier", "value_score", "churn_score")
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[waitlist.c.customer_id], set_={name: stmt.excluded[name] for name in followed}
        )
    )


async def leave_waitlist(conn: AsyncConnection, customer_ids: Sequence[str]) -> None:
    """Take these customers off the waitlist."""
    if customer_ids:
        await conn.execute(delete(waitlist).where(waitlist.c.customer_id.in_(list(customer_ids))))


async def waiting(conn: AsyncConnection, *, region: str | None = None) -> list[Waiting]:
    """Everyone waiting (for `region`'s advisors: its customers and those whose region is unknown), unordered."""
    query = select(
        waitlist.c.customer_id, waitlist.c.region, waitlist.c.need_level, waitlist.c.tier, waitlist.c.value_score,
        waitlist.c.churn_score, waitlist.c.requested_at,
    )  # fmt: skip
    if region is not None:
        query = query.where(or_(waitlist.c.region == region, waitlist.c.region.is_(None)))
    return [Waiting(*row) for row in await conn.execute(query)]


async def waitlist_size(conn: AsyncConnection) -> int:
    """Customers waiting for an advisor."""
    return int((await conn.execute(select(func.count()).select_from(waitlist))).scalar_one())
