"""Customers remember the policy version they were last evaluated under.

A policy change marks due the customers last evaluated under another version; before this, the
route's `policy_version` (the version of the last *decision*) was used, so customers the new policy
left where they were were marked due again at every start. Existing rows take their route's version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "customers",
        sa.Column("evaluated_policy", sa.Text(), comment="The policy version the customer was last routed under."),
    )
    op.execute(
        "UPDATE customers c SET evaluated_policy = r.policy_version FROM routes r WHERE r.customer_id = c.customer_id"
    )


def downgrade() -> None:
    op.drop_column("customers", "evaluated_policy")
