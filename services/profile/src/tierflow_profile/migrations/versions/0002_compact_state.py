"""Compact profile state (bytea), event time in the inbox.

The profile document changes shape (state version 2). Stored profiles and the inbox are
cleared, so the service re-reads what the topics still hold; run
`tierflow profile rebuild --in-place` after upgrading an installation with data.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("TRUNCATE profiles, processed_events")
    op.drop_column("profiles", "state")
    op.add_column(
        "profiles",
        sa.Column(
            "state", sa.LargeBinary(), nullable=False, comment="The full profile (orjson, see adapters/state.py)."
        ),
    )
    for column in ("logins_total", "contacts_total", "last_contact_at", "consents"):
        op.drop_column("profiles", column)
    op.add_column("processed_events", sa.Column("occurred_at", sa.DateTime(timezone=True)))
    op.create_index("processed_events_occurred_at", "processed_events", ["occurred_at"], postgresql_using="brin")


def downgrade() -> None:
    op.drop_index("processed_events_occurred_at", table_name="processed_events")
    op.drop_column("processed_events", "occurred_at")
    op.execute("TRUNCATE profiles, processed_events")
    op.add_column("profiles", sa.Column("consents", sa.dialects.postgresql.JSONB(), nullable=False))
    op.add_column("profiles", sa.Column("last_contact_at", sa.DateTime(timezone=True)))
    op.add_column("profiles", sa.Column("contacts_total", sa.BigInteger(), nullable=False))
    op.add_column("profiles", sa.Column("logins_total", sa.BigInteger(), nullable=False))
    op.drop_column("profiles", "state")
    op.add_column("profiles", sa.Column("state", sa.dialects.postgresql.JSONB(), nullable=False))
