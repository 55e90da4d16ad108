"""Staff overrides and their audit trail (who, when, why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.adapters.tables import override_audit, overrides
from tierflow_routing.domain.facts import Override


@dataclass(frozen=True, slots=True)
class OverrideAudit:
    """One entry of a customer's override trail."""

    action: str
    actor: str
    at: datetime
    reason: str
    details: dict[str, Any]


async def set_override(conn: AsyncConnection, *, customer_id: str, override: Override) -> None:
    """Store the customer's override (replacing any) and audit it."""
    values = {
        "flow": override.flow,
        "advisor_id": override.advisor_id,
        "priority": override.priority,
        "reason": override.reason,
        "created_by": override.created_by,
        "created_at": override.created_at,
        "expires_at": override.expires_at,
    }
    stmt = upsert(overrides).values(customer_id=customer_id, **values)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[overrides.c.customer_id], set_={name: stmt.excluded[name] for name in values}
        )
    )
    await audit(
        conn,
        customer_id=customer_id,
        action="set",
        actor=override.created_by,
        at=override.created_at,
        reason=override.reason,
        details={
            "flow": override.flow,
            "advisor_id": override.advisor_id,
            "priority": override.priority,
            "expires_at": override.expires_at.isoformat(),
        },
    )


async def clear_override(
    conn: AsyncConnection, *, customer_id: str, actor: str, reason: str, at: datetime, action: str = "cleared"
) -> bool:
    """Remove the customer's override and audit it; False when there was none."""
    result = await conn.execute(
        delete(overrides).where(overrides.c.customer_id == customer_id).returning(overrides.c.flow)
    )
    found = result.first() is not None
    if found:
        await audit(conn, customer_id=customer_id, action=action, actor=actor, at=at, reason=reason, details={})
    return found


async def audit(
    conn: AsyncConnection,
    *,
    customer_id: str,
    action: str,
    actor: str,
    at: datetime,
    reason: str,
    details: dict[str, Any],
) -> None:
    """Append one entry to the override trail."""
    await conn.execute(
        insert(override_audit).values(
            customer_id=customer_id, action=action, actor=actor, at=at, reason=reason, details=details
        )
    )


async def history(conn: AsyncConnection, *, customer_id: str, limit: int = 20) -> list[OverrideAudit]:
    """The customer's override trail, newest first."""
    rows = await conn.execute(
        select(
            override_audit.c.action,
            override_audit.c.actor,
            override_audit.c.at,
            override_audit.c.reason,
            override_audit.c.details,
        )
        .where(override_audit.c.customer_id == customer_id)
        .order_by(override_audit.c.at.desc(), override_audit.c.id.desc())
        .limit(limit)
    )
    return [OverrideAudit(*row) for row in rows]


async def active_count(conn: AsyncConnection, *, now: datetime) -> int:
    """Overrides in force at `now`."""
    query = select(func.count()).select_from(overrides).where(overrides.c.expires_at > now)
    return int((await conn.execute(query)).scalar_one())
