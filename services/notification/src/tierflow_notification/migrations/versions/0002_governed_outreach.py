"""Governed outreach: contacts projection, durable steps, advisor tasks, delivery failures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    op.add_column("notifications", sa.Column("step_id", sa.Uuid()))
    op.add_column(
        "notifications",
        sa.Column("evidence", JSONB(), comment="Consent evidence: purpose, granted, as of which customer event."),
    )
    op.create_index(
        "notifications_marketing_sent",
        "notifications",
        ["customer_id", "recorded_at"],
        postgresql_where=sa.text("status = 'sent' AND message_class = 'marketing'"),
    )
    op.create_table(
        "contacts",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("consents", JSONB(), nullable=False),
        sa.Column(
            "consents_as_of", sa.DateTime(timezone=True), comment="occurred_at of the customer event they came from."
        ),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), comment="Latest trade or login."),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        comment="The notification service's own projection of tierflow.customer.v1, trades and logins.",
    )
    op.create_table(
        "steps",
        sa.Column("step_id", sa.Uuid(), primary_key=True, comment="Derived from decision_id and the step name."),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("flow", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("channels", JSONB(), nullable=False),
        sa.Column("message_class", sa.Text(), nullable=False),
        sa.Column("stop_when_active", sa.Boolean(), nullable=False),
        sa.Column("advisor_id", sa.Text()),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("task_due_days", sa.Float(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, comment="pending, sending, done or cancelled."),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), comment="The channel chosen when it was sent."),
        sa.Column("last_reason", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        comment="Durable outreach timers: a restart neither loses nor repeats a step.",
    )
    op.create_index("steps_due", "steps", ["due_at"], postgresql_where=ACTIVE)
    op.create_index("steps_customer", "steps", ["customer_id"], postgresql_where=ACTIVE)
    op.create_table(
        "advisor_tasks",
        sa.Column("task_id", sa.Uuid(), primary_key=True, comment="The notification id of the step that created it."),
        sa.Column("advisor_id", sa.Text(), comment="Null: the outreach team's queue."),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, comment="open, done or cancelled."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.Text()),
    )
    op.create_index(
        "advisor_tasks_open", "advisor_tasks", ["advisor_id", "due_at"], postgresql_where=sa.text("status = 'open'")
    )
    op.create_table(
        "delivery_failures",
        sa.Column("notification_id", sa.Uuid(), primary_key=True),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        comment="Dead-letter records: messages a provider never accepted after every retry.",
    )


def downgrade() -> None:
    op.drop_table("delivery_failures")
    op.drop_index("advisor_tasks_open", table_name="advisor_tasks")
    op.drop_table("advisor_tasks")
    op.drop_index("steps_customer", table_name="steps")
    op.drop_index("steps_due", table_name="steps")
    op.drop_table("steps")
    op.drop_table("contacts")
    op.drop_index("notifications_marketing_sent", table_name="notifications")
    op.drop_column("notifications", "evidence")
    op.drop_column("notifications", "step_id")
