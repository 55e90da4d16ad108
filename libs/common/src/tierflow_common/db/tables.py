"""Tables every consuming service owns in its own schema: the inbox and the outbox."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, MetaData, Table, Text, Uuid, func


def add_inbox_table(metadata: MetaData, *, with_event_time: bool = False) -> Table:
    """`processed_events`: event ids whose effects are committed; the deduplication record.

    With `with_event_time`, each id keeps its event's occurred_at (BRIN-indexed), so ids older than
    a late-arrival horizon can be pruned: such events are refused anyway.
    """
    columns = [
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]
    if with_event_time:
        columns.append(Column("occurred_at", DateTime(timezone=True)))
    table = Table("processed_events", metadata, *columns)
    if with_event_time:
        Index("processed_events_occurred_at", table.c.occurred_at, postgresql_using="brin")
    return table


def add_outbox_table(metadata: MetaData) -> Table:
    """`outbox`: messages written in the state transaction and published after it commits."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("topic", Text, nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
