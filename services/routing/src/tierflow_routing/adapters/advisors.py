"""Advisors, their live load, and the waitlist. Capacity is checked in the same statement that takes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.adapters.tables import advisors, waitlist
from tierflow_routing.domain.advisors import Advisor


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

    def advisor(self) -> Advisor:
        """What routing needs to know of the advisor."""
        return Advisor(self.advisor_id, self.region, self.capacity, self.licence_level, self.load, self.active)


@dataclass(frozen=True, slots=True)
class AdvisorChange:
    """What staff set on an advisor (the load is routing's own)."""

    branch: str
    region: str
    capacity: int
    licence_level: int
    languages: Sequence[str]
    active: bool


_SEAT = select(
    advisors.c.advisor_id, advisors.c.region, advisors.c.capacity, advisors.c.licence_level, advisors.c.load,
    advisors.c.active,
)  # fmt: skip


def _record(row: RowMapping) -> AdvisorRecord:
    return AdvisorRecord(**{name: row[name] for name in AdvisorRecord.__dataclass_fields__})


async def eligible_pool(conn: AsyncConnection, *, region: str | None, need: int) -> list[Advisor]:
    """Active advisors licensed for `need` in `region` (any region when unknown), with their load."""
    query = _SEAT.where(advisors.c.active, advisors.c.licence_level >= need)
    if region is not None:
        query = query.where(advisors.c.region == region)
    return [Advisor(*row) for row in (await conn.execute(query))]


async def get_advisor(conn: AsyncConnection, advisor_id: str) -> Advisor | None:
    """What routing needs to know of one advisor, or None."""
    row = (await conn.execute(_SEAT.where(advisors.c.advisor_id == advisor_id))).first()
    return None if row is None else Advisor(*row)


async def reserve(conn: AsyncConnection, advisor_id: str) -> bool:
    """Take one unit of the advisor's capacity if there is one left (atomic: never over capacity).

    The WHERE clause is re-checked on the locked row after waiting for a concurrent writer, so two
    routing processes cannot both take the last place.
    """
    result = await conn.execute(
        update(advisors)
        .where(advisors.c.advisor_id == advisor_id, advisors.c.active, advisors.c.load < advisors.c.capacity)
        .values(load=advisors.c.load + 1)
        .returning(advisors.c.advisor_id)
    )
    return result.first() is not None


async def release(conn: AsyncConnection, advisor_id: str) -> None:
    """Give back one unit of the advisor's capacity."""
    await conn.execute(
        update(advisors).where(advisors.c.advisor_id == advisor_id).values(load=func.greatest(advisors.c.load - 1, 0))
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


async def join_waitlist(
    conn: AsyncConnection, *, customer_id: str, region: str | None, need: int, at: datetime
) -> None:
    """Put a customer on the waitlist; a customer already waiting keeps their place (and their
    region and suitability need follow the profile, so promotion looks for the right advisor)."""
    stmt = insert(waitlist).values(customer_id=customer_id, region=region, need_level=need, requested_at=at)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[waitlist.c.customer_id],
            set_={"region": stmt.excluded.region, "need_level": stmt.excluded.need_level},
        )
    )


async def leave_waitlist(conn: AsyncConnection, customer_ids: Sequence[str]) -> None:
    """Take these customers off the waitlist."""
    if customer_ids:
        await conn.execute(delete(waitlist).where(waitlist.c.customer_id.in_(list(customer_ids))))


async def oldest_waiting(conn: AsyncConnection, *, limit: int) -> list[tuple[str, datetime]]:
    """The longest-waiting customers that some active advisor with free capacity could take."""
    room = exists().where(
        advisors.c.active,
        advisors.c.load < advisors.c.capacity,
        advisors.c.licence_level >= waitlist.c.need_level,
        or_(waitlist.c.region.is_(None), advisors.c.region == waitlist.c.region),
    )
    rows = await conn.execute(
        select(waitlist.c.customer_id, waitlist.c.requested_at)
        .where(room)
        .order_by(waitlist.c.requested_at, waitlist.c.customer_id)
        .limit(limit)
    )
    return [(customer_id, requested_at) for customer_id, requested_at in rows]


async def waitlist_size(conn: AsyncConnection) -> int:
    """Customers waiting for an advisor."""
    return int((await conn.execute(select(func.count()).select_from(waitlist))).scalar_one())
