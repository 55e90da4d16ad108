"""The advisor registry: list, read, create or update (audited); a change that unsuits customers re-routes them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.adapters import advisors, changes, customers
from tierflow_routing.adapters.advisors import AdvisorChange, AdvisorRecord
from tierflow_routing.adapters.changes import Change
from tierflow_routing.adapters.policies import POLICIES
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.errors import UnknownAdvisor
from tierflow_routing.domain.advisors import no_longer_suits
from tierflow_routing.domain.resources import Resources
from tierflow_routing.domain.shares import Places, advisor_shares, places_by_tier


async def list_advisors(ctx: RoutingContext) -> list[tuple[AdvisorRecord, Places]]:
    """Every advisor with their live load, and their places per tier under the policy in force."""
    async with ctx.engine.connect() as conn:
        records = await advisors.list_advisors(conn)
        shares = await shares_in_force(conn)
    places = places_by_tier([r.advisor() for r in records], shares)
    return [(record, places[record.advisor_id]) for record in records]


async def get_advisor(ctx: RoutingContext, advisor_id: str) -> tuple[AdvisorRecord, Places]:
    """One advisor with their live load, and their places per tier (dealt with their region's team)."""
    async with ctx.engine.connect() as conn:
        record = await advisors.get_advisor_record(conn, advisor_id)
        if record is None:
            raise UnknownAdvisor("no such advisor")
        team = await advisors.team(conn, region=record.region)
        shares = await shares_in_force(conn)
    return record, places_by_tier(team, shares)[advisor_id]


async def shares_in_force(conn: AsyncConnection) -> dict[str, float]:
    """Each tier's share of advisor places under the active policy (the declared defaults before there is one)."""
    policy = await POLICIES.active(conn)
    return Resources().advisor_places.by_tier() if policy is None else advisor_shares(policy)


AUDITED = ("branch", "region", "capacity", "licence_level", "languages", "active")


async def put_advisor(
    ctx: RoutingContext, advisor_id: str, change: AdvisorChange, *, actor: str
) -> tuple[AdvisorRecord, bool]:
    """Create or update an advisor as `actor`; True when created. Audited: who, when, what changed.

    Deactivating them, moving them to another region or lowering their licence makes their customers
    due in the same transaction: the next sweep routes each again (to another eligible advisor with
    room, or the waitlist); a staff override naming the advisor stays.
    """
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        before = await advisors.get_advisor_record(conn, advisor_id)
        record, created = await advisors.upsert_advisor(
            conn, advisor_id=advisor_id, change=change, now=now, actor=actor
        )
        if before is not None and no_longer_suits(before.advisor(), record.advisor()):
            await customers.mark_advisor_customers_due(conn, advisor_id=advisor_id, at=now)
        await changes.record(
            conn,
            subject="advisor",
            subject_id=advisor_id,
            action="created" if created else "updated",
            actor=actor,
            at=now,
            details=_written(before, record),
        )
    return record, created


def _written(before: AdvisorRecord | None, after: AdvisorRecord) -> dict[str, object]:
    """What an advisor write set: every field when created, `{field: {from, to}}` of those it changed otherwise."""
    if before is None:
        return {name: getattr(after, name) for name in AUDITED}
    changed = {
        name: {"from": getattr(before, name), "to": getattr(after, name)}
        for name in AUDITED
        if getattr(before, name) != getattr(after, name)
    }
    return {"changed": changed}


async def advisor_history(ctx: RoutingContext, advisor_id: str) -> list[Change]:
    """Who created and changed the advisor, newest first (the last 50 writes)."""
    async with ctx.engine.connect() as conn:
        if await advisors.get_advisor(conn, advisor_id) is None:
            raise UnknownAdvisor("no such advisor")
        return await changes.history(conn, subject="advisor", subject_id=advisor_id)
