"""Notifications, newest decision per customer, inbox and outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from tierflow_common.db.migration_ops import create_inbox_and_outbox_v1, drop_inbox_and_outbox_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.Uuid(), primary_key=True),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("flow", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("message_class", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("notifications_customer", "notifications", ["customer_id"])
    op.create_index("notifications_decision", "notifications", ["decision_id"])
    op.create_table(
        "customer_decisions",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("last_decision_version", sa.BigInteger(), nullable=False),
        sa.Column("last_decision_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        comment="The newest routing decision seen per customer, to suppress stale ones.",
    )
    create_inbox_and_outbox_v1(op)


def downgrade() -> None:
    drop_inbox_and_outbox_v1(op)
    op.drop_table("customer_decisions")
    op.drop_index("notifications_decision", table_name="notifications")
    op.drop_index("notifications_customer", table_name="notifications")
    op.drop_table("notifications")
