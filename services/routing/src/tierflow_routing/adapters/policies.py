"""The routing policy registry: every version ever uploaded, exactly one active."""

from __future__ import annotations

from datetime import datetime

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.locks import hold_until_commit
from tierflow_routing.domain.policy import RoutingPolicy, routing_policy_from_document

LOCK = "routing_policies"  # held by every transaction that stores or activates a version


class PolicyConflict(ValueError):
    """The version exists with another content."""


async def active_policy(conn: AsyncConnection) -> RoutingPolicy | None:
    row = (await conn.execute(text("SELECT document FROM routing_policies WHERE active"))).first()
    return None if row is None else routing_policy_from_document(row[0], source="stored policy")


async def store_policy(conn: AsyncConnection, policy: RoutingPolicy, *, by: str, now: datetime, activate: bool) -> bool:
    """Record a version (refusing other content under a known version); optionally activate it.

    True when the active policy changed.
    """
    await hold_until_commit(conn, LOCK)
    document = policy.model_dump(mode="json")
    row = (
        await conn.execute(
            text("SELECT document, active FROM routing_policies WHERE version = :v"), {"v": policy.version}
        )
    ).first()
    if row is not None and row[0] != document:
        raise PolicyConflict(f"routing policy version {policy.version} already exists with another content")
    if row is None:
        await conn.execute(
            text(
                "INSERT INTO routing_policies (version, document, description, created_by, created_at, active)"
                " VALUES (:v, CAST(:d AS jsonb), :desc, :by, :now, false)"
            ),
            {
                "v": policy.version,
                "d": orjson.dumps(document).decode(),
                "desc": policy.description,
                "by": by,
                "now": now,
            },
        )
    if not activate or (row is not None and row[1]):
        return False
    await conn.execute(text("UPDATE routing_policies SET active = false WHERE active"))
    await conn.execute(
        text("UPDATE routing_policies SET active = true, activated_at = :now WHERE version = :v"),
        {"v": policy.version, "now": now},
    )
    return True
