"""The `contacts` projection (consents, timezone, activity) and `customer_decisions` (the newest
decision seen per customer), read and written inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import Flow, Priority
from tierflow_notification.adapters.tables import contacts, customer_decisions
from tierflow_notification.domain.continuation import PlanInForce
from tierflow_notification.domain.governance import Contact
from tierflow_notification.domain.outreach import Decision

# The plan in force (domain/continuation.py), beside the newest decision seen.
PLAN_COLUMNS = ("plan_decision_id", "plan_flow", "plan_priority", "plan_advisor_id", "plan_playbook")


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


async def seen_decisions_for_update(
    conn: AsyncConnection, *, customer_ids: Iterable[str]
) -> tuple[dict[str, int], dict[str, PlanInForce]]:
    """Lock and read, per customer, the newest decision version seen and the plan in force (if any)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}, {}
    c = customer_decisions.c
    rows = await conn.execute(
        select(c.customer_id, c.last_decision_version, *(getattr(c, name) for name in PLAN_COLUMNS))
        .where(c.customer_id.in_(ids))
        .order_by(c.customer_id)
        .with_for_update()
    )
    versions: dict[str, int] = {}
    plans: dict[str, PlanInForce] = {}
    for row in rows:
        versions[row.customer_id] = row.last_decision_version
        if row.plan_decision_id is not None:
            plans[row.customer_id] = PlanInForce(
                row.plan_decision_id,
                Flow(row.plan_flow),
                Priority(row.plan_priority),
                row.plan_advisor_id,
                row.plan_playbook,
            )
    return versions, plans


async def current_decision_ids(conn: AsyncConnection, customer_ids: Iterable[str]) -> dict[str, UUID]:
    """Per customer, the decision whose steps may still go out: the plan in force, else the newest decision seen
    (a closed account's, or one remembered before plans were; customers with none are left out)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    c = customer_decisions.c
    rows = await conn.execute(
        select(c.customer_id, func.coalesce(c.plan_decision_id, c.last_decision_id).label("decision_id")).where(
            c.customer_id.in_(ids)
        )
    )
    return {row.customer_id: row.decision_id for row in rows}


async def remember_decisions(
    conn: AsyncConnection, *, current: Sequence[Decision], plans: Mapping[str, PlanInForce | None], now: datetime
) -> None:
    """Note each customer's newest decision, so an older one arriving later plans nothing, and the plan in force
    after it (domain/continuation.py)."""
    if not current:
        return
    stmt = insert(customer_decisions)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[customer_decisions.c.customer_id],
        set_={
            name: getattr(excluded, name)
            for name in ("last_decision_version", "last_decision_id", "updated_at", "holdout", *PLAN_COLUMNS)
        },
        where=customer_decisions.c.last_decision_version < excluded.last_decision_version,
    )
    await conn.execute(stmt, [_decision_row(d, plans.get(d.customer_id), now) for d in current])


def _decision_row(decision: Decision, plan: PlanInForce | None, now: datetime) -> dict[str, object]:
    return {
        "customer_id": decision.customer_id,
        "last_decision_version": decision.version,
        "last_decision_id": decision.decision_id,
        "updated_at": now,
        "plan_decision_id": None if plan is None else plan.decision_id,
        "plan_flow": None if plan is None else plan.flow.value,
        "plan_priority": None if plan is None else plan.priority.value,
        "plan_advisor_id": None if plan is None else plan.advisor_id,
        "plan_playbook": None if plan is None else plan.playbook,
        "holdout": decision.holdout,
    }


async def plan_in_force(
    conn: AsyncConnection, *, customer_id: str, lock: bool = False
) -> tuple[PlanInForce | None, bool]:
    """A customer's plan in force (None: none) and whether their newest decision is in the global holdout;
    `lock` holds the row, as the batch processor does before it touches the customer's steps and tasks."""
    c = customer_decisions.c
    query = select(c.holdout, *(getattr(c, name) for name in PLAN_COLUMNS)).where(c.customer_id == customer_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    if row is None or row.plan_decision_id is None:
        return None, bool(row is not None and row.holdout)
    plan = PlanInForce(
        row.plan_decision_id, Flow(row.plan_flow), Priority(row.plan_priority), row.plan_advisor_id, row.plan_playbook
    )
    return plan, bool(row.holdout)
