"""Recurring steps (domain/recurrence.py): a step row is one occurrence of a series (its period, the series'
start, its number, its task window, whether a logged contact satisfies it), and an advisor task keeps the
contact.logged event that satisfied it (domain/satisfaction.py).

Existing rows are one-off steps (every null, occurrence 0) and tasks closed by hand (no evidence).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "steps", sa.Column("every", sa.Text(), comment="A recurring step's period (ISO 8601); null: a one-off step.")
    )
    op.add_column(
        "steps",
        sa.Column("series_start", sa.DateTime(timezone=True), comment="When occurrence 0 of the series opened."),
    )
    op.add_column(
        "steps",
        sa.Column(
            "occurrence", sa.Integer(), nullable=False, server_default=sa.text("0"), comment="The occurrence's number."
        ),
    )
    op.add_column(
        "steps", sa.Column("satisfied_by_contact", sa.Boolean(), nullable=False, server_default=sa.text("false"))
    )
    op.add_column(
        "steps", sa.Column("step_window", sa.Text(), comment="A recurring task's window (ISO 8601); null: the period.")
    )
    op.create_index(
        "steps_satisfiable",
        "steps",
        ["customer_id", "first_due_at"],
        postgresql_where=sa.text("satisfied_by_contact AND status IN ('pending', 'done')"),
    )
    op.add_column(
        "advisor_tasks",
        sa.Column(
            "evidence_event_id", sa.Uuid(), comment="The contact.logged event that satisfied the task, if one did."
        ),
    )


def downgrade() -> None:
    op.drop_column("advisor_tasks", "evidence_event_id")
    op.drop_index("steps_satisfiable", table_name="steps")
    for column in ("step_window", "satisfied_by_contact", "occurrence", "series_start", "every"):
        op.drop_column("steps", column)
