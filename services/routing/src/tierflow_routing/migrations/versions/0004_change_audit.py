"""Who changed an advisor or the active routing policy: the change audit, and the last writer on the rows.

Advisor writes and policy (re)activations record who did it, as overrides always have
(`override_audit`). Rows written before this migration keep null in the new columns.

Revision ID: 0004_change_audit
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_change_audit"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "advisors",
        sa.Column(
            "created_by", sa.Text(), comment="Who created the advisor (the token's sub); null before migration 0004."
        ),
    )
    op.add_column(
        "advisors",
        sa.Column(
            "updated_by", sa.Text(), comment="Who wrote the advisor last (the token's sub); null before migration 0004."
        ),
    )
    op.add_column(
        "routing_policies",
        sa.Column("activated_by", sa.Text(), comment="Who made the version active last; null before migration 0004."),
    )
    op.create_table(
        "change_audit",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.Text(), nullable=False, comment="advisor or policy"),
        sa.Column("subject_id", sa.Text(), nullable=False, comment="The advisor id or the policy version."),
        sa.Column("action", sa.Text(), nullable=False, comment="created, updated, installed, uploaded or reactivated"),
        sa.Column("actor", sa.Text(), nullable=False, comment="The token's sub (tierflow for the shipped default)."),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        comment="Who changed an advisor or the active routing policy, when and how (overrides: override_audit).",
    )
    op.create_index("change_audit_subject", "change_audit", ["subject", "subject_id", "at"])


def downgrade() -> None:
    op.drop_index("change_audit_subject", table_name="change_audit")
    op.drop_table("change_audit")
    op.drop_column("routing_policies", "activated_by")
    op.drop_column("advisors", "updated_by")
    op.drop_column("advisors", "created_by")
