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
    comment="Fitted BG/NBD parameter sets; exactly one is active.",
)
Index("churn_models_one_active", churn_models.c.active, unique=True, postgresql_where=churn_models.c.active)

processed_events = add_inbox_table(metadata)
outbox = add_outbox_table(metadata)
