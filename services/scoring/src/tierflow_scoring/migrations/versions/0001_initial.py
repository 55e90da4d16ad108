"""Scores, inbox and outbox.

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


def upgrade() -> None:
    op.create_table(
        "scores",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("tier_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profile_version", sa.BigInteger(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(), nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_review_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "scores_next_review_at", "scores", ["next_review_at"], postgresql_where=sa.text("next_review_at IS NOT NULL")
    )
    op.create_index("scores_tier", "scores", ["tier"])
    create_inbox_and_outbox_v1(op)


def downgrade() -> None:
    drop_inbox_and_outbox_v1(op)
    op.drop_index("scores_tier", table_name="scores")
    op.drop_index("scores_next_review_at", table_name="scores")
    op.drop_table("scores")
