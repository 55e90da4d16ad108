"""Tables every consuming service owns in its own schema: the inbox and the outbox."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, MetaData, Table, Text, Uuid, func


def add_inbox_table(metadata: MetaData, *, with_event_time: bool = False, with_content_hash: bool = True) -> Table:
    """`processed_events`: event ids whose effects are committed; the deduplication record.

    With `with_content_hash` (every inbox in use), each id keeps the content hash of the copy that was
    applied (`tierflow_common.events.content`), so a later copy with other content is told apart from
    a duplicate (db/inbox.py). Null: stored before hashes were kept; a copy of it is a plain duplicate.
    With `with_event_time`, each id keeps a time (BRIN-indexed) from which it is remembered, so ids
    remembered for longer than a late-arrival horizon can be pruned (`admission.remembered_from`).
    """
    columns = [
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]
    if with_content_hash:
        columns.append(Column("content_hash", LargeBinary))
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
