"""Churn observations (domain/observations.py): recorded monthly, labelled when a customer turns dormant or
closes, read back matured for a fit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_scoring.adapters.tables import churn_observations
from tierflow_scoring.domain.churn_fitting import Observation
from tierflow_scoring.domain.churn_logistic import FEATURES
from tierflow_scoring.domain.observations import LABEL_WINDOW, Recorded


async def record(conn: AsyncConnection, *, observations: Sequence[Recorded]) -> None:
    """Store observations (one statement); a replayed one is already there and stays as it was."""
    if not observations:
        return
    rows = [
        {
            "customer_id": o.customer_id,
            "observed_at": o.observed_at,
            "model_version": o.model_version,
            "features": dict(zip(FEATURES, o.features, strict=True)),
            "score": o.score,
        }
        for o in observations
    ]
    await conn.execute(insert(churn_observations).on_conflict_do_nothing(), rows)


async def label_churned(conn: AsyncConnection, *, churned: Iterable[tuple[str, datetime]]) -> None:
    """Label each customer's unlabelled observations of the 90 days up to the moment they churned."""
    for customer_id, at in churned:
        o = churn_observations.c
        await conn.execute(
            update(churn_observations)
            .where(
                and_(
                    o.customer_id == customer_id,
                    o.churned_at.is_(None),
                    o.observed_at <= at,
                    o.observed_at >= at - LABEL_WINDOW,
                )
            )
            .values(churned_at=at)
        )


async def matured(conn: AsyncConnection, *, at: datetime) -> list[Observation]:
    """Every observation made 90 days or more before `at`, with its label (churned within the 90 days)."""
    o = churn_observations.c
    rows = await conn.execute(
        select(o.customer_id, o.observed_at, o.features, o.score, o.churned_at)
        .where(o.observed_at <= at - LABEL_WINDOW)
        .order_by(o.observed_at, o.customer_id)
    )
    return [
        Observation(
            customer_id=customer_id,
            observed_at=observed_at,
            features=tuple(float(features.get(name, 0.0)) for name in FEATURES),
            score=score,
            churned=churned_at is not None and churned_at <= observed_at + LABEL_WINDOW,
        )
        for customer_id, observed_at, features, score, churned_at in rows
    ]
