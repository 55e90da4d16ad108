"""Outcomes: one row per decision and attribution window (7, 30, 90 days), matured by the sweeper.

Decisions made before this migration open no windows (their baselines were not kept).

Revision ID: 0006_decision_outcomes
Revises: 0005_decision_experiment
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_decision_outcomes"
down_revision = "0005_decision_experiment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_outcomes",
        sa.Column("decision_id", sa.Uuid(), primary_key=True),
        sa.Column("window_days", sa.Integer(), primary_key=True, comment="7, 30 or 90"),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "due_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="decided_at plus window_days: the window's end.",
        ),
        sa.Column("status", sa.Text(), nullable=False, comment="pending or matured"),
        sa.Column(
            "baseline",
            postgresql.JSONB(),
            nullable=False,
            comment="The decision and what was true then (domain/outcomes.Baseline).",
        ),
        sa.Column(
            "facts",
            postgresql.JSONB(),
            nullable=False,
            comment="The running facts folded in since (domain/outcomes.WindowFacts).",
        ),
        sa.Column(
            "superseded_at", sa.DateTime(timezone=True), comment="When a later decision replaced it before the end."
        ),
        sa.Column("superseded_by", sa.Uuid()),
        sa.Column("outcome", postgresql.JSONB(), comment="The outcome, once matured (as on tierflow.outcome.v1)."),
        sa.Column("matured_at", sa.DateTime(timezone=True)),
        comment="One row per decision and attribution window (docs/experiments.md, outcomes).",
    )
    op.create_index(
        "decision_outcomes_due", "decision_outcomes", ["due_at"], postgresql_where=sa.text("status = 'pending'")
    )
    op.create_index(
        "decision_outcomes_pending_customer",
        "decision_outcomes",
        ["customer_id"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("decision_outcomes_pending_customer", table_name="decision_outcomes")
    op.drop_index("decision_outcomes_due", table_name="decision_outcomes")
    op.drop_table("decision_outcomes")
