"""Routing policies, customer facts, advisors, waitlist, overrides and their audit.

Routes and the decision log gain the matched rule and the active flag; existing routes are
cleared (the service re-routes from the score and profile topics).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("TRUNCATE routes, decisions, processed_events")
    for table in ("routes", "decisions"):
        op.add_column(table, sa.Column("active", sa.Boolean(), nullable=False))
        op.add_column(table, sa.Column("rule", sa.Text(), nullable=False))
        op.alter_column(table, "caused_by", existing_type=sa.Uuid(), nullable=True)
    op.drop_column("routes", "score_version")
    op.drop_index("routes_flow", table_name="routes")
    op.create_index("routes_flow", "routes", ["flow", "customer_id"])
    op.create_index(
        "routes_advisor", "routes", ["advisor_id", "customer_id"], postgresql_where=sa.text("advisor_id IS NOT NULL")
    )
    op.create_index("routes_tier", "routes", ["tier", "customer_id"])
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("profile_version", sa.BigInteger(), nullable=False),
        sa.Column("score_version", sa.BigInteger(), nullable=False),
        sa.Column("next_review_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False, comment="CustomerState as MessagePack (domain/facts.py)."),
    )
    op.create_index(
        "customers_next_review_at",
        "customers",
        ["next_review_at"],
        postgresql_where=sa.text("next_review_at IS NOT NULL"),
    )
    op.create_table(
        "advisors",
        sa.Column("advisor_id", sa.Text(), primary_key=True),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("licence_level", sa.Integer(), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("load", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        comment="load is kept in the same transactions as the routes; it never exceeds capacity on assignment.",
    )
    op.create_table(
        "waitlist",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("region", sa.Text()),
        sa.Column("need_level", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        comment="private_advisor customers waiting for capacity; promoted oldest first.",
    )
    op.create_index("waitlist_requested", "waitlist", ["requested_at"])
    op.create_table(
        "overrides",
        sa.Column("customer_id", sa.Text(), primary_key=True),
        sa.Column("flow", sa.Text(), nullable=False),
        sa.Column("advisor_id", sa.Text()),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "override_audit",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False, comment="set, cleared or expired"),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(), nullable=False),
    )
    op.create_index("override_audit_customer", "override_audit", ["customer_id", "at"])
    op.create_table(
        "routing_policies",
        sa.Column("version", sa.Text(), primary_key=True),
        sa.Column("document", postgresql.JSONB(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "routing_policies_one_active", "routing_policies", ["active"], unique=True, postgresql_where=sa.text("active")
    )


def downgrade() -> None:
    for table in ("routing_policies", "override_audit", "overrides", "waitlist", "advisors", "customers"):
        op.drop_table(table)
    op.execute("TRUNCATE routes, decisions")
    op.drop_index("routes_tier", table_name="routes")
    op.drop_index("routes_advisor", table_name="routes")
    op.drop_index("routes_flow", table_name="routes")
    op.create_index("routes_flow", "routes", ["flow"])
    op.add_column("routes", sa.Column("score_version", sa.BigInteger(), nullable=False))
    for table in ("routes", "decisions"):
        op.alter_column(table, "caused_by", existing_type=sa.Uuid(), nullable=False)
        op.drop_column(table, "rule")
        op.drop_column(table, "active")
