"""The learned churn score: churn models gain the logistic part and the fit's calibration report, and
the monthly churn observations it is fitted on get their table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


LOGISTIC = "The learned score: {intercept, coefficients by feature}; null: hand-set."
CALIBRATION = "The fit's report on its held-out customers (Brier, AUC, reliability)."
FEATURES = "The learned model's features by name (domain/churn_logistic)."
CHURNED = "Turned dormant or closed within 90 days; null: not (yet)."


def upgrade() -> None:
    op.add_column(
        "churn_models",
        sa.Column("logistic", JSONB, comment=LOGISTIC),
    )
    op.add_column(
        "churn_models",
        sa.Column("calibration", JSONB, comment=CALIBRATION),
    )
    op.add_column(
        "churn_models",
        sa.Column("calibration_png", sa.LargeBinary, comment="The reliability curve of the fit, as PNG."),
    )
    op.create_table_comment(
        "churn_models", "Fitted churn models (BG/NBD parameters and the learned score); exactly one is active."
    )
    op.create_table(
        "churn_observations",
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("features", JSONB, nullable=False, comment=FEATURES),
        sa.Column("score", sa.Float, nullable=False, comment="The churn score in force at the observation."),
        sa.Column("churned_at", sa.DateTime(timezone=True), comment=CHURNED),
        comment="A customer's churn features once a month, labelled by what followed (domain/observations.py).",
    )
    op.create_index("churn_observations_observed_at", "churn_observations", ["observed_at"])


def downgrade() -> None:
    op.drop_index("churn_observations_observed_at", table_name="churn_observations")
    op.drop_table("churn_observations")
    op.create_table_comment("churn_models", "Fitted BG/NBD parameter sets; exactly one is active.")
    op.drop_column("churn_models", "calibration_png")
    op.drop_column("churn_models", "calibration")
    op.drop_column("churn_models", "logistic")
