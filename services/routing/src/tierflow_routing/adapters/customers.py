"""Each customer's routing state (facts, score, route, override), through the shared per-customer state store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.state_store import StateCodec, StateStore
from tierflow_routing.adapters.tables import customers, routes
from tierflow_routing.domain.facts import CustomerState

CODEC = StateCodec(CustomerState)


def next_review(state: CustomerState) -> datetime | None:
    """Time-driven work routing has for this customer: an override expiring, an experiment starting or ending."""
    moments = [state.experiment_review_at, None if state.override is None else state.override.expires_at]
    return min((m for m in moments if m is not None), default=None)


STORE: StateStore[CustomerState, CustomerState] = StateStore(
    customers,
    CODEC,
    key_of=lambda state: state.customer_id,
    state_of=lambda state: state,
    columns={
        "profile_version": lambda state: state.profile.profile_version,
        "score_version": lambda state: state.score.score_version,
        "next_review_at": next_review,
        "evaluated_policy": lambda state: state.evaluated_policy,
    },
)
"""load_for_update (a fixed lock order), due_for_review_for_update (SKIP LOCKED), get, save (one statement)."""


async def stream_states(conn: AsyncConnection) -> AsyncIterator[CustomerState]:
    """Every stored customer's state, streamed (for simulations)."""
    result = await conn.stream_scalars(select(customers.c.state))
    async for raw in result:
        yield CODEC.decode(raw)


async def mark_due(conn: AsyncConnection, *, customer_ids: Sequence[str], at: datetime) -> None:
    """Ask the sweeper to re-route these customers (at `at`, so earlier ones go first)."""
    if customer_ids:
        await STORE.mark_due(conn, where=customers.c.customer_id.in_(list(customer_ids)), at=at, keep_earlier=False)


async def mark_outdated_due(conn: AsyncConnection, *, policy_version: str, at: datetime) -> int:
    """Every routed customer last evaluated under another policy version becomes due (a policy change).

    The evaluation counts, not the decision: a customer the new policy leaves where they were keeps
    the old `policy_version` on their route, and is not due again at the next start.
    """
    return await _mark_routed_due(conn, customers.c.evaluated_policy.is_distinct_from(policy_version), at)


async def mark_advisor_customers_due(conn: AsyncConnection, *, advisor_id: str, at: datetime) -> int:
    """Every customer routed to this advisor becomes due (the advisor may no longer suit them)."""
    return await _mark_routed_due(conn, routes.c.advisor_id == advisor_id, at)


async def _mark_routed_due(conn: AsyncConnection, condition: ColumnElement[bool], at: datetime) -> int:
    """Routed customers meeting `condition` become due at `at`, unless due earlier already."""
    return await STORE.mark_due(conn, where=(routes.c.customer_id == customers.c.customer_id) & condition, at=at)
