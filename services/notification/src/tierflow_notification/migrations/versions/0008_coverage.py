"""Coverage (issue 12): a step and the advisor task it opens keep the tier of the decision that planned them,
so coverage (the share of promised tasks done on time) is reported per advisor and tier; an index on
(advisor_id, due_at) serves coverage's reads of the tasks due in a window.

Existing rows keep null, which coverage counts as tier "unknown": the tier of an older decision is not
known here, and a guess would misreport it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "steps",
        sa.Column("tier", sa.Text(), comment="The tier of the decision that planned it (null: planned before 0008)."),
    )
    op.add_column(
        "advisor_tasks",
        sa.Column(
            "tier", sa.Text(), comment="The customer's tier when the task was planned (null: created before 0008)."
        ),
    )
    op.create_index("advisor_tasks_due", "advisor_tasks", ["advisor_id", "due_at"])


def downgrade() -> None:
    op.drop_index("advisor_tasks_due", table_name="advisor_tasks")
    op.drop_column("advisor_tasks", "tier")
    op.drop_column("steps", "tier")
