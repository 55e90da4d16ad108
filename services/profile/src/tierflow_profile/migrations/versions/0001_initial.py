"""Profiles, inbox and outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tierflow_common.db.migration_ops import create_inbox_and_outbox_v1, drop_inbox_and_outbox_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = sa.Numeric(24, 4)


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("state", postgresql.JSONB(), nullable=False, comment="The full profile, including window buckets."),
        sa.Column("total_assets", MONEY),
        sa.Column("commission_12m", MONEY, nullable=False),
        sa.Column("trades_total", sa.BigInteger(), nullable=False),
        sa.Column("logins_total", sa.BigInteger(), nullable=False),
        sa.Column("contacts_total", sa.BigInteger(), nullable=False),
        sa.Column("last_trade_at", sa.DateTime(timezone=True)),
        sa.Column("last_login_at", sa.DateTime(timezone=True)),
        sa.Column("last_contact_at", sa.DateTime(timezone=True)),
        sa.Column("risk_level", sa.Text()),
        sa.Column("consents", postgresql.JSONB(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_review_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "profiles_next_review_at",
        "profiles",
        ["next_review_at"],
        postgresql_where=sa.text("next_review_at IS NOT NULL"),
    )
    create_inbox_and_outbox_v1(op)


def downgrade() -> None:
    drop_inbox_and_outbox_v1(op)
    op.drop_index("profiles_next_review_at", table_name="profiles")
    op.drop_table("profiles")
