"""Use cases on customers' scores."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_scoring.adapters import scores
from tierflow_scoring.application.errors import ScoreNotFound
from tierflow_scoring.domain.score import ScoreState


async def score_of(engine: AsyncEngine, customer_id: str) -> ScoreState:
    """One customer's stored score state (tier, churn figures, reasons, inputs, next review)."""
    async with engine.connect() as conn:
        state = await scores.STORE.get(conn, customer_id)
    if state is None:
        raise ScoreNotFound(f"no score for {customer_id}")
    return state
