"""Decision outcome windows (`decision_outcomes`), inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_routing.adapters.tables import decision_outcomes as t
from tierflow_routing.domain.outcomes import Baseline, Outcome, Window, WindowFacts

PENDING = "pending"
MATURED = "matured"


def _values(window: Window) -> dict[str, Any]:
    return {
        "decision_id": UUID(window.baseline.decision_id),
        "window_days": window.window_days,
        "customer_id": window.baseline.customer_id,
        "decided_at": window.baseline.decided_at,
        "due_at": window.due_at,
        "status": PENDING,
        "baseline": msgspec.to_builtins(window.baseline),
        "facts": msgspec.to_builtins(window.facts),
        "superseded_at": window.superseded_at,
        "superseded_by": None if window.superseded_by is None else UUID(window.superseded_by),
    }


def _window(row: RowMapping) -> Window:
    return Window(
        baseline=msgspec.convert(row["baseline"], Baseline),
        window_days=row["window_days"],
        due_at=row["due_at"],
        facts=msgspec.convert(row["facts"], WindowFacts),
        superseded_at=row["superseded_at"],
        superseded_by=None if row["superseded_by"] is None else str(row["superseded_by"]),
    )


_WINDOW = select(t.c.window_days, t.c.due_at, t.c.baseline, t.c.facts, t.c.superseded_at, t.c.superseded_by).where(
    t.c.status == PENDING
)


async def pending_for_update(conn: AsyncConnection, *, customer_ids: Iterable[str]) -> list[Window]:
    """The pending windows of these customers, locked (a sweep maturing one is waited for, then skipped)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    query = _WINDOW.where(t.c.customer_id.in_(ids)).order_by(t.c.decision_id, t.c.window_days).with_for_update()
    return [_window(row) for row in (await conn.execute(query)).mappings()]


async def save_pending(conn: AsyncConnection, *, windows: Sequence[Window]) -> None:
    """Insert new windows, update the facts and supersession of pending ones (matured ones are final)."""
    if not windows:
        return
    upsert = insert(t)
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[t.c.decision_id, t.c.window_days],
            set_={"facts": upsert.excluded.facts, "superseded_at": upsert.excluded.superseded_at}
            | {"superseded_by": upsert.excluded.superseded_by},
            where=t.c.status == PENDING,
        ),
        [_values(w) for w in windows],
    )


async def due_for_update(conn: AsyncConnection, *, cutoff: datetime, limit: int) -> list[Window]:
    """Pending windows ended at or before `cutoff`, oldest first, locked; rows another sweeper holds are skipped."""
    query = _WINDOW.where(t.c.due_at <= cutoff).order_by(t.c.due_at).limit(limit).with_for_update(skip_locked=True)
    return [_window(row) for row in (await conn.execute(query)).mappings()]


async def mark_matured(conn: AsyncConnection, *, matured: Sequence[tuple[Window, Outcome]], at: datetime) -> None:
    """Record each window's outcome; it is final from now on."""
    for window, result in matured:
        await conn.execute(
            update(t)
            .where(t.c.decision_id == UUID(window.baseline.decision_id), t.c.window_days == window.window_days)
            .values(status=MATURED, outcome=msgspec.to_builtins(result), matured_at=at)
        )


async def outcomes_of(conn: AsyncConnection, *, customer_id: str) -> list[dict[str, Any]]:
    """Every window of the customer's decisions, as stored (tests, analysts' spot checks)."""
    rows = await conn.execute(select(t).where(t.c.customer_id == customer_id).order_by(t.c.decided_at, t.c.window_days))
    return [dict(row) for row in rows.mappings()]
