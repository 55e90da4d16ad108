"""The `contacts` projection (consents, timezone, activity) and `customer_decisions` (the newest
decision seen per customer), read and written inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_notification.adapters.tables import contacts, customer_decisions
from tierflow_notification.domain.governance import Contact
from tierflow_notification.domain.outreach import Decision


def _contact_row(contact: Contact, now: datetime) -> dict[str, object]:
    return {
        "customer_id": contact.customer_id,
        "consents": dict(contact.consents),
        "consents_as_of": contact.consents_as_of,
        "timezone": contact.timezone,
        "closed": contact.closed,
        "last_active_at": contact.last_active_at,
        "updated_at": now,
    }


async def upsert_contacts(conn: AsyncConnection, projected: Sequence[Contact], *, now: datetime) -> None:
    """Customer master data; an older customer event never overwrites a newer one (activity is kept)."""
    if not projected:
        return
    stmt = insert(contacts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[contacts.c.customer_id],
        set_={
            "consents": stmt.excluded.consents,
            "consents_as_of": stmt.excluded.consents_as_of,
            "timezone": stmt.excluded.timezone,
            "closed": stmt.excluded.closed,
            "updated_at": stmt.excluded.updated_at,
        },
        where=func.coalesce(contacts.c.consents_as_of, stmt.excluded.consents_as_of) <= stmt.excluded.consents_as_of,
    )
    await conn.execute(stmt, [_contact_row(c, now) for c in projected])


async def mark_active(conn: AsyncConnection, *, active_at: Mapping[str, datetime], now: datetime) -> None:
    """The latest trade or login per customer (a contact row without consents is created if needed)."""
    if not active_at:
        return
    stmt = insert(contacts)
    stmt = stmt.on_conflict_do_update(
        index_elements=[contacts.c.customer_id],
        set_={
            "last_active_at": func.greatest(contacts.c.last_active_at, stmt.excluded.last_active_at),
            "updated_at": stmt.excluded.updated_at,
        },
    )
    await conn.execute(
        stmt, [_contact_row(Contact(customer_id=cid, last_active_at=at), now) for cid, at in sorted(active_at.items())]
    )


async def load_contacts(
    conn: AsyncConnection, customer_ids: Iterable[str], *, lock: bool = False
) -> dict[str, Contact]:
    """The projection of these customers (locked with `lock`); customers never seen are left out."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    query = select(contacts).where(contacts.c.customer_id.in_(ids)).order_by(contacts.c.customer_id)
    rows = await conn.execute(query.with_for_update() if lock else query)
    return {
        row.customer_id: Contact(
            customer_id=row.customer_id,
            consents=dict(row.consents),
            consents_as_of=row.consents_as_of,
            timezone=row.timezone,
            closed=row.closed,
            last_active_at=row.last_active_at,
        )
        for row in rows
        if row.consents_as_of is not None or row.last_active_at is not None
    }


async def last_versions_for_update(conn: AsyncConnection, *, customer_ids: Iterable[str]) -> dict[str, int]:
    """Lock and read the newest decision version seen per customer."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        select(customer_decisions.c.customer_id, customer_decisions.c.last_decision_version)
        .where(customer_decisions.c.customer_id.in_(ids))
        .order_by(customer_decisions.c.customer_id)
        .with_for_update()
    )
    return {row.customer_id: row.last_decision_version for row in rows}


async def current_decision_ids(conn: AsyncConnection, customer_ids: Iterable[str]) -> dict[str, UUID]:
    """The newest decision seen per customer (customers with none are left out)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        select(customer_decisions.c.customer_id, customer_decisions.c.last_decision_id).where(
            customer_decisions.c.customer_id.in_(ids)
        )
    )
    return {row.customer_id: row.last_decision_id for row in rows}


async def remember_decisions(conn: AsyncConnection, *, current: Sequence[Decision], now: datetime) -> None:
    """Note each customer's newest decision, so an older one arriving later plans nothing."""
    if not current:
        return
    stmt = insert(customer_decisions)
    stmt = stmt.on_conflict_do_update(
        index_elements=[customer_decisions.c.customer_id],
        set_={
            "last_decision_version": stmt.excluded.last_decision_version,
            "last_decision_id": stmt.excluded.last_decision_id,
            "updated_at": stmt.excluded.updated_at,
        },
        where=customer_decisions.c.last_decision_version < stmt.excluded.last_decision_version,
    )
    await conn.execute(
        stmt,
        [
            {
                "customer_id": d.customer_id,
                "last_decision_version": d.version,
                "last_decision_id": d.decision_id,
                "updated_at": now,
            }
            for d in current
        ],
    )
