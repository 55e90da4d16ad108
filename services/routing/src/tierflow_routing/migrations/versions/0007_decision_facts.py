"""The facts a decision was made on (domain/facts.PolicyFacts, MessagePack), kept in the decision log so a
candidate policy can be backtested on past decisions (docs/experiments.md, "Backtesting a policy").

Rows written before this migration keep null: the backtest skips and counts them.

Revision ID: 0007_decision_facts
Revises: 0006_decision_outcomes
Create Date: 2026-12-15
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_decision_facts"
down_revision = "0006_decision_outcomes"
branch_labels = None
depends_on = None

COMMENT = (
    "What the policy read (domain/facts.PolicyFacts as MessagePack); null for overrides, closed accounts and"
    " decisions before migration 0007."
)


def upgrade() -> None:
    op.add_column("decisions", sa.Column("facts", sa.LargeBinary(), comment=COMMENT))


def downgrade() -> None:
    op.drop_column("decisions", "facts")
