"""Reasons and the catalogue (issue 12): a closed task keeps the closer's report (outcome, and the reason the
customer left when the task asked), and customer_decisions whether the newest decision is in the global
holdout, so a reason's branch planned when a task is closed is held out like the plan (domain/branching.py).

Existing rows keep null: tasks closed before had no report; a null holdout reads as not held out, which
the customer's next decision corrects.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "advisor_tasks",
        sa.Column("outcome", sa.Text(), comment="What the closer reported: done, reached, no_answer or declined."),
    )
    op.add_column(
        "advisor_tasks",
        sa.Column("reason", sa.Text(), comment="Why the customer left, when the task asked (or the closer said)."),
    )
    op.add_column(
        "customer_decisions",
        sa.Column(
            "holdout", sa.Boolean(), comment="The newest decision is in the global holdout (null: seen before 0006)."
        ),
    )


def downgrade() -> None:
    op.drop_column("customer_decisions", "holdout")
    op.drop_column("advisor_tasks", "reason")
    op.drop_column("advisor_tasks", "outcome")
