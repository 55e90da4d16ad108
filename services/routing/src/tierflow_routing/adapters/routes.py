"""Current routes and the decision log, inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.adapters.tables import decisions, routes
from tierflow_routing.domain.facts import CustomerState, PolicyFacts, Route
from tierflow_routing.domain.read_model import DecisionRead, RouteRead

# The columns the current route shares with the decision log (the log adds the facts, the route updated_at).
_LOGGED = [c.name for c in decisions.columns if c.name != "facts"]
_FACTS = msgspec.msgpack.Encoder()
# Decided by a staff override or by closure, not by the policy's rules: no facts to backtest a policy on.
_NOT_BY_POLICY = frozenset({"staff_override", "closed"})


def _facts(state: CustomerState, route: Route) -> bytes | None:
    """What the policy read for this decision, as compact MessagePack (domain/facts.PolicyFacts)."""
    if route.rule in _NOT_BY_POLICY:
        return None
    return _FACTS.encode(PolicyFacts.of(state.profile, state.score))


def _values(state: CustomerState, route: Route) -> dict[str, Any]:
    return {
        "customer_id": state.customer_id,
        "version": route.version,
        "decision_id": UUID(route.decision_id),
        "flow": route.flow,
        "advisor_id": route.advisor_id,
        "priority": route.priority,
        "active": route.active,
        "rule": route.rule,
        "tier": state.score.tier or "C",
        "churn_band": state.score.churn_band,
        "reasons": [{"code": c, "contribution": w, "detail": d} for c, w, d in route.reasons],
        "policy_version": route.policy_version,
        "decided_at": route.decided_at,
        "supersedes": None if route.supersedes is None else UUID(route.supersedes),
        "caused_by": None if route.caused_by is None else UUID(route.caused_by),
        "experiment": None if route.experiment is None else msgspec.structs.asdict(route.experiment),
    }


async def save_routes(
    conn: AsyncConnection, *, current: Sequence[CustomerState], decided: Sequence[CustomerState], now: datetime
) -> None:
    """Upsert the current routes of `current`; append the new decisions of `decided` to the log."""
    rows = [{**_values(s, s.route), "updated_at": now} for s in current if s.route is not None]
    if rows:
        upsert = insert(routes)
        await conn.execute(
            upsert.on_conflict_do_update(
                index_elements=[routes.c.customer_id],
                set_={name: upsert.excluded[name] for name in _LOGGED if name != "customer_id"}
                | {"updated_at": upsert.excluded.updated_at},
            ),
            rows,
        )
    log = [{**_values(s, s.route), "facts": _facts(s, s.route)} for s in decided if s.route is not None]
    if log:
        await conn.execute(insert(decisions).on_conflict_do_nothing(index_elements=[decisions.c.decision_id]), log)


def _read(row: RowMapping) -> RouteRead:
    return RouteRead.model_validate(dict(row))


_READ = select(*(routes.c[name] for name in RouteRead.model_fields))


async def get_route(conn: AsyncConnection, *, customer_id: str) -> RouteRead | None:
    """One customer's current route, or None."""
    row = (await conn.execute(_READ.where(routes.c.customer_id == customer_id))).mappings().first()
    return None if row is None else _read(row)


async def get_routes(conn: AsyncConnection, *, customer_ids: Iterable[str]) -> list[RouteRead]:
    """These customers' current routes (those that have one)."""
    ids = list(set(customer_ids))
    if not ids:
        return []
    rows = await conn.execute(_READ.where(routes.c.customer_id.in_(ids)))
    return [_read(row) for row in rows.mappings()]


async def list_routes(
    conn: AsyncConnection,
    *,
    flow: str | None,
    advisor_id: str | None,
    tier: str | None,
    after: str | None,
    limit: int,
) -> list[RouteRead]:
    """Active routes ordered by customer id, after the cursor, with optional filters (index-backed)."""
    query = _READ.where(routes.c.active)
    for column, value in ((routes.c.flow, flow), (routes.c.advisor_id, advisor_id), (routes.c.tier, tier)):
        if value is not None:
            query = query.where(column == value)
    if after is not None:
        query = query.where(routes.c.customer_id > after)
    rows = await conn.execute(query.order_by(routes.c.customer_id).limit(limit))
    return [_read(row) for row in rows.mappings()]


_HISTORY = select(*(decisions.c[name] for name in DecisionRead.model_fields))


async def decision_history(
    conn: AsyncConnection, *, customer_id: str, before_version: int | None, limit: int
) -> list[DecisionRead]:
    """The customer's decisions, newest first, older than `before_version` when given."""
    query = _HISTORY.where(decisions.c.customer_id == customer_id)
    if before_version is not None:
        query = query.where(decisions.c.version < before_version)
    rows = await conn.execute(query.order_by(decisions.c.version.desc()).limit(limit))
    return [DecisionRead.model_validate(dict(row)) for row in rows.mappings()]


async def route_counts(conn: AsyncConnection) -> dict[str, int]:
    """Active routes per flow."""
    rows = await conn.execute(select(routes.c.flow, func.count()).where(routes.c.active).group_by(routes.c.flow))
    return {flow: int(count) for flow, count in rows}
