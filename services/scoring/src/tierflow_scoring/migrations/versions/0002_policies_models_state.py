"""Versioned policies and churn models; score state as one document.

Scores are derived data: the table is recreated and the service re-scores from the profile
topic (reset its consumer group, or let the next profile versions and the sweeper fill it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("scores_tier", table_name="scores")
    op.drop_index("scores_next_review_at", table_name="scores")
    op.drop_table("scores")
    op.execute("TRUNCATE processed_events")
    op.create_table(
        "scores",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        sa.Column("churn_band", sa.Text(), nullable=False),
        sa.Column("next_review_at", sa.DateTime(timezone=True)),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False, comment="ScoreState as MessagePack (domain/score.py)."),
    )
    op.create_index(
        "scores_next_review_at", "scores", ["next_review_at"], postgresql_where=sa.text("next_review_at IS NOT NULL")
    )
    op.create_index("scores_tier", "scores", ["tier"])
    op.create_index("scores_churn_band", "scores", ["churn_band"])
    op.create_table(
        "policies",
        sa.Column("version", sa.Text(), primary_key=True),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("active", sa.Boolean(), nullable=False),
        comment="Every tier policy ever loaded; exactly one is active.",
    )
    op.create_index("policies_one_active", "policies", ["active"], unique=True, postgresql_where=sa.text("active"))
    op.create_table(
        "churn_models",
        sa.Column("version", sa.Text(), primary_key=True),
        sa.Column("r", sa.Float(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("a", sa.Float(), nullable=False),
        sa.Column("b", sa.Float(), nullable=False),
        sa.Column("time_unit", sa.Text(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("log_likelihood", sa.Float()),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("active", sa.Boolean(), nullable=False),
        comment="Fitted BG/NBD parameter sets; exactly one is active.",
    )
    op.create_index(
        "churn_models_one_active", "churn_models", ["active"], unique=True, postgresql_where=sa.text("active")
    )


def downgrade() -> None:
    op.drop_table("churn_models")
    op.drop_table("policies")
    op.drop_table("scores")
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
