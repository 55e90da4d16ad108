"""Migration steps shared by every service. Versioned by name: a released step never changes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def create_inbox_and_outbox_v1(op: Any) -> None:
    """`processed_events` (the dedupe record) and `outbox` (messages awaiting publication)."""
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def drop_inbox_and_outbox_v1(op: Any) -> None:
    """Undo `create_inbox_and_outbox_v1`."""
    op.drop_table("outbox")
    op.drop_table("processed_events")


def add_inbox_content_hash_v1(op: Any) -> None:
    """`processed_events.content_hash`: the hash of the applied copy (null for ids stored before: unknown)."""
    op.add_column("processed_events", sa.Column("content_hash", sa.LargeBinary()))


def drop_inbox_content_hash_v1(op: Any) -> None:
    """Undo `add_inbox_content_hash_v1`."""
    op.drop_column("processed_events", "content_hash")
