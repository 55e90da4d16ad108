"""customer_decisions remembers the plan in force: the decision whose playbook the steps come from,
and the flow, priority and advisor that chose it (domain/continuation.py).

Existing rows keep nulls: their next decision plans anew, as every decision did before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = ("plan_decision_id", "plan_flow", "plan_priority", "plan_advisor_id")


def upgrade() -> None:
    op.add_column(
        "customer_decisions",
        sa.Column("plan_decision_id", sa.Uuid(), comment="The decision whose playbook is in force (null: none)."),
    )
    op.add_column("customer_decisions", sa.Column("plan_flow", sa.Text()))
    op.add_column("customer_decisions", sa.Column("plan_priority", sa.Text()))
    op.add_column("customer_decisions", sa.Column("plan_advisor_id", sa.Text()))


def downgrade() -> None:
    for column in reversed(COLUMNS):
        op.drop_column("customer_decisions", column)
