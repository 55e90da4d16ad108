"""Per-arm sums of matured outcome windows (`decision_outcomes`), for the experiment statistics.

The unit is the customer's **first exposure**: of a customer's matured windows of one length, the one
of the earliest decision that counts for the report (docs/experiments.md, "Reading an experiment").
One GROUP BY gives what domain/experiment_stats.ArmSample holds: customers, successes, and the sums
of the pre-period covariate x (`baseline.pre_activity`, 0 where it was not kept), x*x and x*y.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Integer, and_, case, func, literal, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from tierflow_routing.adapters.tables import decision_outcomes as t
from tierflow_routing.domain.experiment_stats import ArmSample

MATURED: Final = "matured"
PROGRAMME: Final = "programme"  # everyone decided outside the global holdout, in a holdout report


def _flag(name: str) -> ColumnElement[bool]:
    flag: ColumnElement[bool] = t.c.outcome[name].as_boolean()
    return flag


# The outcomes a report can count (as on tierflow.outcome.v1); `returned` = traded again or logged in.
OUTCOMES: Final[dict[str, ColumnElement[bool]]] = {
    "returned": or_(_flag("traded_again"), _flag("logged_in")),
    "traded_again": _flag("traded_again"),
    "logged_in": _flag("logged_in"),
    "kept_or_regained_tier": _flag("kept_or_regained_tier"),
    "became_dormant": _flag("became_dormant"),
    "closed": _flag("closed"),
}

# baseline.experiment is stored as [experiment, arm, assignment_probability] (domain/facts.Assignment).
_EXPERIMENT = t.c.baseline["experiment"][0].as_string()
_ARM = t.c.baseline["experiment"][1].as_string()
_PRE = func.coalesce(t.c.baseline["pre_activity"].as_float(), 0.0)


async def arm_samples(
    conn: AsyncConnection, *, experiment_id: str, window_days: int, outcome: str, flow: str | None, holdout: bool
) -> list[ArmSample]:
    """The sums per arm. For an experiment, its customers by arm; for the global holdout (`holdout=True`), the
    holdout against everyone decided outside it since the holdout's first decision (arm `programme`)."""
    success = OUTCOMES[outcome]
    where = [t.c.status == MATURED, t.c.window_days == window_days]
    if flow is not None:
        where.append(t.c.baseline["flow"].as_string() == flow)
    if holdout:
        started = (
            select(func.min(t.c.decided_at)).where(experiment_id == _EXPERIMENT, t.c.window_days == window_days)
        ).scalar_subquery()
        where.append(t.c.decided_at >= started)
        arm: ColumnElement[str] = case((experiment_id == _EXPERIMENT, _ARM), else_=literal(PROGRAMME))
    else:
        where.append(experiment_id == _EXPERIMENT)
        arm = _ARM
    first = (
        select(
            t.c.customer_id,
            arm.label("arm"),
            case((success, 1), else_=0).cast(Integer).label("y"),
            _PRE.label("x"),
        )
        .where(and_(*where))
        .ext(distinct_on(t.c.customer_id))
        .order_by(t.c.customer_id, t.c.decided_at, t.c.decision_id)
        .subquery()
    )
    query = (
        select(
            first.c.arm,
            func.count().label("customers"),
            func.sum(first.c.y).label("successes"),
            func.sum(first.c.x).label("x"),
            func.sum(first.c.x * first.c.x).label("xx"),
            func.sum(first.c.x * first.c.y).label("xy"),
        )
        .group_by(first.c.arm)
        .order_by(first.c.arm)
    )
    return [
        ArmSample(
            arm=row.arm,
            customers=int(row.customers),
            successes=int(row.successes),
            pre_sum=float(row.x),
            pre_sum_squares=float(row.xx),
            pre_success_sum=float(row.xy),
        )
        for row in await conn.execute(query)
    ]
