"""Lean profile rows: the state document, its version and the next review; nothing duplicated.

The key-figure columns repeated what the state document holds and cost a column per figure on
every write of the hot path; `tierflow profile show` and the downstream services' tables answer
those questions now.

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

DROPPED = (
    "total_assets",
    "commission_12m",
    "trades_total",
    "last_trade_at",
    "last_login_at",
    "risk_level",
    "closed",
    "last_event_at",
)


def upgrade() -> None:
    for column in DROPPED:
        op.drop_column("profiles", column)
    op.alter_column(
        "profiles",
        "state",
        existing_type=sa.LargeBinary(),
        existing_nullable=False,
        comment="The full profile (MessagePack, see adapters/state.py).",
    )


def downgrade() -> None:
    op.execute("TRUNCATE profiles, processed_events")  # the figures cannot be recomputed in SQL: rebuild
    op.add_column("profiles", sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False))
    op.add_column("profiles", sa.Column("closed", sa.Boolean(), nullable=False))
    op.add_column("profiles", sa.Column("risk_level", sa.Text()))
    op.add_column("profiles", sa.Column("last_login_at", sa.DateTime(timezone=True)))
    op.add_column("profiles", sa.Column("last_trade_at", sa.DateTime(timezone=True)))
    op.add_column("profiles", sa.Column("trades_total", sa.BigInteger(), nullable=False))
    op.add_column("profiles", sa.Column("commission_12m", sa.Numeric(24, 4), nullable=False))
    op.add_column("profiles", sa.Column("total_assets", sa.Numeric(24, 4)))
