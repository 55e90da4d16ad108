"""Routes, the decision log, inbox and outbox.

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


def _decision_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("flow", sa.Text(), nullable=False),
        sa.Column("advisor_id", sa.Text()),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("churn_band", sa.Text()),
        sa.Column("reasons", postgresql.JSONB(), nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes", sa.Uuid()),
        sa.Column("caused_by", sa.Uuid(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "routes",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        *_decision_columns(),
        sa.Column("score_version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("routes_flow", "routes", ["flow"])
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        *_decision_columns(),
        comment="Every decision ever made: the audit trail.",
    )
    op.create_index("decisions_customer", "decisions", ["customer_id", "version"])
    create_inbox_and_outbox_v1(op)


def downgrade() -> None:
    drop_inbox_and_outbox_v1(op)
    op.drop_index("decisions_customer", table_name="decisions")
    op.drop_table("decisions")
    op.drop_index("routes_flow", table_name="routes")
    op.drop_table("routes")
