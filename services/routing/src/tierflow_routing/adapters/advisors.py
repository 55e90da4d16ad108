"""Advisors, their live load, and the waitlist. Capacity is checked in the same statement that takes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.domain.decision import Advisor


@dataclass(frozen=True)
class AdvisorRow:
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

    def advisor(self) -> Advisor:
        """What routing needs to know of the advisor."""
        return Advisor(self.advisor_id, self.region, self.capacity, self.licence_level, self.load, self.active)


_COLUMNS = "advisor_id, branch, region, capacity, licence_level, languages, active, load, created_at, updated_at"


async def eligible_pool(conn: AsyncConnection, *, region: str | None, need: int) -> list[Advisor]:
    """Active advisors licensed for `need` in `region` (any region when unknown), with their load."""
    rows = await conn.execute(
        text(
            "SELECT advisor_id, region, capacity, licence_level, load, active FROM advisors"
            " WHERE active AND licence_level >= :need AND (CAST(:region AS text) IS NULL OR region = :region)"
        ),
        {"need": need, "region": region},
    )
    return [Advisor(*row) for row in rows]


async def get_advisor(conn: AsyncConnection, advisor_id: str) -> Advisor | None:
    row = (
        await conn.execute(
            text(
                "SELECT advisor_id, region, capacity, licence_level, load, active FROM advisors WHERE advisor_id = :a"
            ),
            {"a": advisor_id},
        )
    ).first()
    return None if row is None else Advisor(*row)


async def reserve(conn: AsyncConnection, advisor_id: str) -> bool:
    """Take one unit of the advisor's capacity if there is one left (atomic: never over capacity).

    The WHERE clause is re-checked on the locked row after waiting for a concurrent writer, so two
    routing processes cannot both take the last place.
    """
    result = await conn.execute(
        text(
            "UPDATE advisors SET load = load + 1 WHERE advisor_id = :a AND active AND load < capacity"
            " RETURNING advisor_id"
        ),
        {"a": advisor_id},
    )
    return result.first() is not None


async def release(conn: AsyncConnection, advisor_id: str) -> None:
    """Give back one unit of the advisor's capacity."""
    await conn.execute(
        text("UPDATE advisors SET load = greatest(load - 1, 0) WHERE advisor_id = :a"), {"a": advisor_id}
    )


async def list_advisors(conn: AsyncConnection) -> list[AdvisorRow]:
    return [
        AdvisorRow(*row) for row in await conn.execute(text(f"SELECT {_COLUMNS} FROM advisors ORDER BY advisor_id"))
    ]


async def get_advisor_row(conn: AsyncConnection, advisor_id: str) -> AdvisorRow | None:
    row = (
        await conn.execute(text(f"SELECT {_COLUMNS} FROM advisors WHERE advisor_id = :a"), {"a": advisor_id})
    ).first()
    return None if row is None else AdvisorRow(*row)


async def upsert_advisor(
    conn: AsyncConnection,
    *,
    advisor_id: str,
    branch: str,
    region: str,
    capacity: int,
    licence_level: int,
    languages: Sequence[str],
    active: bool,
    now: datetime,
) -> tuple[AdvisorRow, bool]:
    """Create or update an advisor (load is kept); True when it was created."""
    row = (
        await conn.execute(
            text(
                "INSERT INTO advisors (advisor_id, branch, region, capacity, licence_level, languages, active, load,"
                " created_at, updated_at) VALUES (:a, :b, :r, :c, :l, :langs, :act, 0, :now, :now)"
                " ON CONFLICT (advisor_id) DO UPDATE SET branch = excluded.branch, region = excluded.region,"
                " capacity = excluded.capacity, licence_level = excluded.licence_level,"
                " languages = excluded.languages, active = excluded.active, updated_at = excluded.updated_at"
                f" RETURNING {_COLUMNS}, (xmax = 0) AS created"
            ),
            {
                "a": advisor_id,
                "b": branch,
                "r": region,
                "c": capacity,
                "l": licence_level,
                "langs": list(languages),
                "act": active,
                "now": now,
            },
        )
    ).one()
    return AdvisorRow(*row[:-1]), bool(row[-1])


async def free_capacity(conn: AsyncConnection) -> int:
    value = (
        await conn.execute(text("SELECT coalesce(sum(greatest(capacity - load, 0)), 0) FROM advisors WHERE active"))
    ).scalar_one()
    return int(value)


async def join_waitlist(
    conn: AsyncConnection, *, customer_id: str, region: str | None, need: int, at: datetime
) -> None:
    """Put a customer on the waitlist; a customer already waiting keeps their place (and their
    region and suitability need follow the profile, so promotion looks for the right advisor)."""
    await conn.execute(
        text(
            "INSERT INTO waitlist (customer_id, region, need_level, requested_at) VALUES (:c, :r, :n, :at)"
            " ON CONFLICT (customer_id) DO UPDATE SET region = EXCLUDED.region, need_level = EXCLUDED.need_level"
        ),
        {"c": customer_id, "r": region, "n": need, "at": at},
    )


async def leave_waitlist(conn: AsyncConnection, customer_ids: Sequence[str]) -> None:
    if customer_ids:
        await conn.execute(text("DELETE FROM waitlist WHERE customer_id = ANY(:ids)"), {"ids": list(customer_ids)})


async def oldest_waiting(conn: AsyncConnection, *, limit: int) -> list[tuple[str, datetime]]:
    """The longest-waiting customers that some active advisor with free capacity could take."""
    rows = await conn.execute(
        text(
            "SELECT w.customer_id, w.requested_at FROM waitlist w WHERE EXISTS ("
            " SELECT 1 FROM advisors a WHERE a.active AND a.load < a.capacity AND a.licence_level >= w.need_level"
            " AND (w.region IS NULL OR a.region = w.region))"
            " ORDER BY w.requested_at, w.customer_id LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [(row[0], row[1]) for row in rows]


async def waitlist_size(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT count(*) FROM waitlist"))).scalar_one())
