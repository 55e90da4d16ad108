"""The experiment arm of a decision: {experiment, arm, assignment_probability} on the route and in the log.

Rows written before this migration keep null: they were decided in no experiment.

Revision ID: 0005_decision_experiment
Revises: 0004_change_audit
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_decision_experiment"
down_revision = "0004_change_audit"
branch_labels = None
depends_on = None

COMMENT = "{experiment, arm, assignment_probability} of the decision (docs/experiments.md); null when none."


def upgrade() -> None:
    for table in ("routes", "decisions"):
        op.add_column(table, sa.Column("experiment", postgresql.JSONB(), comment=COMMENT))


def downgrade() -> None:
    for table in ("routes", "decisions"):
        op.drop_column(table, "experiment")
