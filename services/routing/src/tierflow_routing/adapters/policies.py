"""The routing policy registry: every version ever uploaded, exactly one active (the shared registry)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.registry import DocumentKind, Registry
from tierflow_routing.adapters import changes
from tierflow_routing.adapters.tables import routing_policies
from tierflow_routing.domain.policy import RoutingPolicy, routing_policy_from_document

POLICY: DocumentKind[RoutingPolicy] = DocumentKind(
    name="routing policy",
    version_of=lambda policy: policy.version,
    to_row=lambda policy: {"document": policy.document(), "description": policy.description},
    from_row=lambda row: routing_policy_from_document(row["document"], source="stored policy"),
    content=("document",),
)

POLICIES = Registry(routing_policies, POLICY)
"""store (refusing other content under a known version), activate, active, versions, install_default; every
write holds the transaction lock named after the table, so replicas starting together install the default once."""


def created_by(actor: str) -> dict[str, object]:
    """The registry row's details for a version stored by `actor`."""
    return {"created_by": actor}


async def is_stored(conn: AsyncConnection, version: str) -> bool:
    """Whether a version was ever stored (uploading it again reactivates it)."""
    found = await conn.execute(select(routing_policies.c.version).where(routing_policies.c.version == version))
    return found.first() is not None


async def active_version(conn: AsyncConnection) -> str | None:
    """The version in force, without reading its document."""
    t = routing_policies
    return (await conn.execute(select(t.c.version).where(t.c.active))).scalar_one_or_none()


async def record_activation(
    conn: AsyncConnection, *, version: str, action: str, actor: str, at: datetime, previous: str | None
) -> None:
    """Record who made `version` active (on its row, beside the registry's `activated_at`, and in the change
    audit: `installed`, `uploaded` or `reactivated`, with the version it replaced)."""
    t = routing_policies
    await conn.execute(update(t).where(t.c.version == version).values(activated_by=actor))
    await changes.record(
        conn, subject="policy", subject_id=version, action=action, actor=actor, at=at, details={"previous": previous}
    )
