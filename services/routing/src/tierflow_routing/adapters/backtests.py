"""The decision log beside its matured outcome windows, read for backtesting a policy (domain/backtest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final

import msgspec
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import HOLDOUT_ARM, Flow
from tierflow_routing.adapters.tables import decision_outcomes as o
from tierflow_routing.adapters.tables import decisions as d
from tierflow_routing.domain.backtest import Action, LoggedDecision, outcome_values
from tierflow_routing.domain.facts import Assignment, PolicyFacts
from tierflow_routing.domain.outcomes import Outcome

MATURED: Final = "matured"
# The reason domain/decision.settle adds when the policy chose private_advisor and no advisor was free.
CAPACITY_FALLBACK: Final = "advisor_capacity_exhausted"
_FACTS = msgspec.msgpack.Decoder(PolicyFacts)

_QUERY = select(
    d.c.decision_id,
    d.c.customer_id,
    d.c.decided_at,
    d.c.policy_version,
    d.c.rule,
    d.c.flow,
    d.c.priority,
    d.c.experiment,
    d.c.facts,
    d.c.reasons.contains([{"code": CAPACITY_FALLBACK}]).label("capacity_fallback"),
    o.c.outcome,
).join(o, and_(o.c.decision_id == d.c.decision_id, o.c.status == MATURED))


def logged_decision(row: Any) -> LoggedDecision:
    """One row of the query as the backtest reads it: the policy's choice (a capacity fallback undone)."""
    experiment = None if row.experiment is None else Assignment(**row.experiment)
    flow = Flow.PRIVATE_ADVISOR.value if row.capacity_fallback else row.flow
    held_out = experiment is not None and experiment.arm == HOLDOUT_ARM
    return LoggedDecision(
        decision_id=str(row.decision_id),
        customer_id=row.customer_id,
        decided_at=row.decided_at,
        policy_version=row.policy_version,
        rule=row.rule,
        action=Action(flow, row.priority, held_out, None if experiment is None else experiment.playbook),
        experiment=experiment,
        facts=None if row.facts is None else _FACTS.decode(row.facts),
        outcomes=outcome_values(msgspec.convert(row.outcome, Outcome)),
    )


async def logged_decisions(
    conn: AsyncConnection, *, window_days: int, since: datetime | None, batch: int = 5_000
) -> AsyncIterator[LoggedDecision]:
    """The decisions with a matured window of `window_days` (decided at or after `since`), oldest first, streamed."""
    query = _QUERY.where(o.c.window_days == window_days)
    if since is not None:
        query = query.where(d.c.decided_at >= since)
    query = query.order_by(d.c.decided_at, d.c.decision_id).execution_options(yield_per=batch)
    async for row in await conn.stream(query):
        yield logged_decision(row)
