"""Outbound call capacity (issue 12): a step says whether it is a call to the customer, and the calls handed to
the workbench are counted per day and tier against governance.calls (domain/calls.py).

Existing steps are not calls (false): they were planned before any step was marked, and counting them now
would take today's calls from the steps planned under the new rule.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "steps",
        sa.Column(
            "outbound_call",
            sa.Boolean(),
            nullable=False,
            server_default=sa.text("false"),
            comment="A call to the customer: counts against its tier's calls a day (0009).",
        ),
    )
    op.create_table(
        "call_capacity",
        sa.Column("day", sa.Date(), primary_key=True, comment="The calling day, in governance.calls' timezone."),
        sa.Column("tier", sa.Text(), primary_key=True),
        sa.Column("used", sa.Integer(), nullable=False, comment="Calls of the tier handed to the workbench that day."),
        comment="Outbound calls used per day and tier, against governance.calls (domain/calls.py).",
    )


def downgrade() -> None:
    op.drop_table("call_capacity")
    op.drop_column("steps", "outbound_call")
