"""Staff overrides and their audit trail (who, when, why)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.domain.facts import Override


async def set_override(conn: AsyncConnection, *, customer_id: str, override: Override) -> None:
    await conn.execute(
        text(
            "INSERT INTO overrides"
            " (customer_id, flow, advisor_id, priority, reason, created_by, created_at, expires_at)"
            " VALUES (:c, :f, :a, :p, :r, :by, :at, :exp) ON CONFLICT (customer_id) DO UPDATE SET flow = excluded.flow,"
            " advisor_id = excluded.advisor_id, priority = excluded.priority, reason = excluded.reason,"
            " created_by = excluded.created_by, created_at = excluded.created_at, expires_at = excluded.expires_at"
        ),
        {
            "c": customer_id,
            "f": override.flow,
            "a": override.advisor_id,
            "p": override.priority,
            "r": override.reason,
            "by": override.created_by,
            "at": override.created_at,
            "exp": override.expires_at,
        },
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
    result = await conn.execute(text("DELETE FROM overrides WHERE customer_id = :c RETURNING flow"), {"c": customer_id})
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
    await conn.execute(
        text(
            "INSERT INTO override_audit (customer_id, action, actor, at, reason, details)"
            " VALUES (:c, :action, :actor, :at, :reason, CAST(:details AS jsonb))"
        ),
        {
            "c": customer_id,
            "action": action,
            "actor": actor,
            "at": at,
            "reason": reason,
            "details": orjson.dumps(details).decode(),
        },
    )


async def history(conn: AsyncConnection, *, customer_id: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text(
            "SELECT action, actor, at, reason, details FROM override_audit WHERE customer_id = :c"
            " ORDER BY at DESC, id DESC LIMIT :limit"
        ),
        {"c": customer_id, "limit": limit},
    )
    return [dict(row._mapping) for row in rows]


async def active_count(conn: AsyncConnection, *, now: datetime) -> int:
    return int(
        (await conn.execute(text("SELECT count(*) FROM overrides WHERE expires_at > :n"), {"n": now})).scalar_one()
    )
