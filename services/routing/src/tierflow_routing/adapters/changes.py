"""The change audit: who created or updated an advisor, who uploaded or reactivated a routing policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.adapters.tables import change_audit

Subject = Literal["advisor", "policy"]


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change audit."""

    subject: str
    subject_id: str
    action: str
    actor: str
    at: datetime
    details: dict[str, Any]


async def record(
    conn: AsyncConnection,
    *,
    subject: Subject,
    subject_id: str,
    action: str,
    actor: str,
    at: datetime,
    details: dict[str, Any],
) -> None:
    """Append one entry, in the caller's transaction (so it commits with the change or not at all)."""
    await conn.execute(
        insert(change_audit).values(
            subject=subject, subject_id=subject_id, action=action, actor=actor, at=at, details=details
        )
    )


async def history(
    conn: AsyncConnection, *, subject: Subject, subject_id: str | None = None, limit: int = 50
) -> list[Change]:
    """The newest entries of one subject kind (of one advisor or policy version when `subject_id` is given)."""
    t = change_audit
    query = select(t.c.subject, t.c.subject_id, t.c.action, t.c.actor, t.c.at, t.c.details).where(
        t.c.subject == subject
    )
    if subject_id is not None:
        query = query.where(t.c.subject_id == subject_id)
    rows = await conn.execute(query.order_by(t.c.at.desc(), t.c.id.desc()).limit(limit))
    return [Change(*row) for row in rows]
