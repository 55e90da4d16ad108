"""Advisor places by tier share, and a waitlist ordered by value and risk (docs/routing.md, issue 12).

advisors.load_a..load_d split the load by the tier each place counts under, filled from the current routes.
waitlist.tier, value_score and churn_score rank the queue; rows waiting before this migration get their tier
from the route and their figures when they are routed again, so every waiting customer is made due now.

Revision ID: 0008_tier_shares
Revises: 0007_decision_facts
Create Date: 2026-12-20
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_tier_shares"
down_revision = "0007_decision_facts"
branch_labels = None
depends_on = None

TIERS = ("A", "B", "C", "D")


def upgrade() -> None:
    for tier in TIERS:
        op.add_column(
            "advisors",
            sa.Column(
                f"load_{tier.lower()}",
                sa.Integer(),
                nullable=False,
                server_default=sa.text("0"),
                comment=f"Load of tier {tier}.",
            ),
        )
    counts = ", ".join(
        f"load_{t.lower()} = (SELECT count(*) FROM routes r WHERE r.advisor_id = advisors.advisor_id"
        f" AND r.flow = 'private_advisor' AND r.active AND r.tier = '{t}')"
        for t in TIERS
    )
    op.execute(f"UPDATE advisors SET {counts}")
    op.add_column(
        "waitlist",
        sa.Column(
            "tier", sa.Text(), comment="The tier whose share of places the customer waits for; null before 0008."
        ),
    )
    op.add_column(
        "waitlist",
        sa.Column(
            "value_score", sa.Float(), nullable=False, server_default=sa.text("0"), comment="From tierflow.score.v1."
        ),
    )
    op.add_column(
        "waitlist",
        sa.Column(
            "churn_score",
            sa.Float(),
            nullable=False,
            server_default=sa.text("0"),
            comment="Churn probability, score.v1.",
        ),
    )
    op.execute(
        "COMMENT ON TABLE waitlist IS 'private_advisor customers waiting for capacity; promoted in the policy''s"
        " waitlist order.'"
    )
    op.execute(
        "COMMENT ON TABLE advisors IS 'load is kept in the same transactions as the routes; it never exceeds"
        " capacity on assignment. load_a..load_d split it by the tier each place counts under (domain/shares.py).'"
    )
    op.execute("UPDATE waitlist w SET tier = r.tier FROM routes r WHERE r.customer_id = w.customer_id")
    op.execute(
        "UPDATE customers c SET next_review_at = now() FROM waitlist w"
        " WHERE w.customer_id = c.customer_id AND (c.next_review_at IS NULL OR c.next_review_at > now())"
    )


def downgrade() -> None:
    for column in ("churn_score", "value_score", "tier"):
        op.drop_column("waitlist", column)
    for tier in TIERS:
        op.drop_column("advisors", f"load_{tier.lower()}")
