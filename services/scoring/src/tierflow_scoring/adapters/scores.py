"""Score states: one row per customer (ScoreState as MessagePack) beside the columns the sweeper,
the gauges and a rules change look up, through the shared per-customer state store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.calendar import day_of
from tierflow_common.db.state_store import StateCodec, StateStore
from tierflow_scoring.adapters.tables import scores
from tierflow_scoring.domain.score import ScoreState

CODEC = StateCodec(ScoreState)


def _review_column_wins(state: ScoreState, review_at: datetime | None) -> None:
    state.next_review_at = review_at  # re-scoring for new rules sets only the column


STORE: StateStore[ScoreState, ScoreState] = StateStore(
    scores,
    CODEC,
    key_of=lambda state: state.customer_id,
    state_of=lambda state: state,
    columns={
        "version": lambda state: state.version,
        "tier": lambda state: state.tier,
        "churn_band": lambda state: state.churn_band,
        "next_review_at": lambda state: state.next_review_at,
        "policy_version": lambda state: state.policy_version,
        "model_version": lambda state: state.model_version or "",
    },
    on_due=_review_column_wins,
)
"""load_for_update, due_for_review_for_update (the row's next_review_at wins), get, save, mark_due."""


async def save_decided(conn: AsyncConnection, *, states: Iterable[ScoreState], now: datetime) -> None:
    """Upsert the states that hold a decision (one statement); a customer not yet scored has nothing to store."""
    await STORE.save(conn, [s for s in states if s.tier is not None], now=now)


async def mark_outdated_due(conn: AsyncConnection, *, policy_version: str, model_version: str, at: datetime) -> int:
    """Make due at `at` every customer scored under another policy or model version; return how many."""
    outdated = or_(scores.c.policy_version != policy_version, scores.c.model_version != model_version)
    return await STORE.mark_due(conn, where=outdated, at=at)


async def mark_due(conn: AsyncConnection, *, customer_ids: list[str], at: datetime) -> None:
    """Make these customers due at `at` (the sweeper re-scores them under the rules in force)."""
    if customer_ids:
        await STORE.mark_due(conn, where=scores.c.customer_id.in_(customer_ids), at=at)


async def repeat_statistics(conn: AsyncConnection, *, at: datetime) -> list[tuple[int, float, float]]:
    """(x, t_x, T) in days for every stored customer who has traded (for fitting the churn model)."""
    rows = await conn.execute(select(scores.c.state))
    today = day_of(at)
    triples = []
    for (raw,) in rows:
        inputs = CODEC.decode(raw).inputs
        if inputs is None or inputs.repeat_x is None or inputs.repeat_t_x is None or inputs.first_trade_at is None:
            continue
        T = max(today - day_of(inputs.first_trade_at), inputs.repeat_t_x)
        triples.append((inputs.repeat_x, float(inputs.repeat_t_x), float(T)))
    return triples


async def customers_by_tier_and_band(conn: AsyncConnection) -> list[tuple[str, str, int]]:
    """How many customers hold each (tier, churn band)."""
    query = select(scores.c.tier, scores.c.churn_band, func.count()).group_by(scores.c.tier, scores.c.churn_band)
    return [(tier, band, count) for tier, band, count in await conn.execute(query)]
