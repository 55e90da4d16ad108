"""customer_decisions remembers which playbook variant the plan in force plays (an experiment arm's
`playbook`, domain/playbooks.py), so a decision that switches variant plans anew (domain/continuation.py).

Existing rows keep null: every plan stored before plays its flow's own playbook, which null means.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "customer_decisions",
        sa.Column(
            "plan_playbook",
            sa.Text(),
            comment="The playbook variant the plan plays (null: the flow's own playbook).",
        ),
    )


def downgrade() -> None:
    op.drop_column("customer_decisions", "plan_playbook")
