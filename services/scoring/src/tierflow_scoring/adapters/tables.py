"""The scoring service's tables, all in its own schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from tierflow_common.db.tables import add_inbox_table, add_outbox_table

metadata = MetaData()

scores = Table(
    "scores",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("tier", Text, nullable=False),
    Column("churn_band", Text, nullable=False),
    Column("next_review_at", DateTime(timezone=True)),
    Column("policy_version", Text, nullable=False),
    Column("model_version", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("state", LargeBinary, nullable=False, comment="ScoreState as MessagePack (domain/score.py)."),
)
Index("scores_next_review_at", scores.c.next_review_at, postgresql_where=scores.c.next_review_at.isnot(None))
Index("scores_tier", scores.c.tier)
Index("scores_churn_band", scores.c.churn_band)

policies = Table(
    "policies",
    metadata,
    Column("version", Text, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True)),
    Column("active", Boolean, nullable=False),
    comment="Every tier policy ever loaded; exactly one is active.",
)
Index("policies_one_active", policies.c.active, unique=True, postgresql_where=policies.c.active)

churn_models = Table(
    "churn_models",
    metadata,
    Column("version", Text, primary_key=True),
    Column("r", Float, nullable=False),
    Column("alpha", Float, nullable=False),
    Column("a", Float, nullable=False),
    Column("b", Float, nullable=False),
    Column("time_unit", Text, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("log_likelihood", Float),
    Column("source", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True)),
    Column("active", Boolean, nullable=False),
    Column("logistic", JSONB, comment="The learned score: {intercept, coefficients by feature}; null: hand-set."),
    Column("calibration", JSONB, comment="The fit's report on its held-out customers (Brier, AUC, reliability)."),
    Column("calibration_png", LargeBinary, comment="The reliability curve of the fit, as PNG."),
    comment="Fitted churn models (BG/NBD parameters and the learned score); exactly one is active.",
)
Index("churn_models_one_active", churn_models.c.active, unique=True, postgresql_where=churn_models.c.active)

churn_observations = Table(
    "churn_observations",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("observed_at", DateTime(timezone=True), primary_key=True),
    Column("model_version", Text, nullable=False),
    Column("features", JSONB, nullable=False, comment="The learned model's features by name (domain/churn_logistic)."),
    Column("score", Float, nullable=False, comment="The churn score in force at the observation."),
    Column("churned_at", DateTime(timezone=True), comment="Turned dormant or closed within 90 days; null: not (yet)."),
    comment="A customer's churn features once a month, labelled by what followed (domain/observations.py).",
)
Index("churn_observations_observed_at", churn_observations.c.observed_at)

processed_events = add_inbox_table(metadata)
outbox = add_outbox_table(metadata)
