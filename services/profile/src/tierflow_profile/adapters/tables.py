"""The profile service's tables, all in its own schema."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, MetaData, Table, Text

from tierflow_common.db.tables import add_inbox_table, add_outbox_table

metadata = MetaData()

profiles = Table(
    "profiles",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("next_review_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("state", LargeBinary, nullable=False, comment="The full profile (MessagePack, see adapters/state.py)."),
)
Index("profiles_next_review_at", profiles.c.next_review_at, postgresql_where=profiles.c.next_review_at.isnot(None))

processed_events = add_inbox_table(metadata, with_event_time=True)
outbox = add_outbox_table(metadata)
