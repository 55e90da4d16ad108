"""The advisor registry: list, read, create or update; a change that unsuits customers re-routes them."""

from __future__ import annotations

from tierflow_routing.adapters import advisors, customers
from tierflow_routing.adapters.advisors import AdvisorChange, AdvisorRecord
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.errors import UnknownAdvisor
from tierflow_routing.domain.advisors import no_longer_suits


async def list_advisors(ctx: RoutingContext) -> list[AdvisorRecord]:
    """Every advisor with their live load."""
    async with ctx.engine.connect() as conn:
        return await advisors.list_advisors(conn)


async def get_advisor(ctx: RoutingContext, advisor_id: str) -> AdvisorRecord:
    """One advisor with their live load."""
    async with ctx.engine.connect() as conn:
        record = await advisors.get_advisor_record(conn, advisor_id)
    if record is None:
        raise UnknownAdvisor("no such advisor")
    return record


async def put_advisor(ctx: RoutingContext, advisor_id: str, change: AdvisorChange) -> tuple[AdvisorRecord, bool]:
    """Create or update an advisor; True when created.

    Deactivating them, moving them to another region or lowering their licence makes their customers
    due in the same transaction: the next sweep routes each again (to another eligible advisor with
    room, or the waitlist); a staff override naming the advisor stays.
    """
    now = ctx.clock.now()
    async with ctx.engine.begin() as conn:
        before = await advisors.get_advisor(conn, advisor_id)
        record, created = await advisors.upsert_advisor(conn, advisor_id=advisor_id, change=change, now=now)
        if before is not None and no_longer_suits(before, record.advisor()):
            await customers.mark_advisor_customers_due(conn, advisor_id=advisor_id, at=now)
    return record, created
