"""The routing service's tables, all in its own schema."""

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
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from tierflow_common.db.tables import add_inbox_table, add_outbox_table
from tierflow_routing.domain.resources import TIERS

metadata = MetaData()

EXPERIMENT_COMMENT = "{experiment, arm, assignment_probability} of the decision (docs/experiments.md); null when none."
FACTS_COMMENT = (
    "What the policy read (domain/facts.PolicyFacts as MessagePack); null for overrides, closed accounts and"
    " decisions before migration 0007."
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("profile_version", BigInteger, nullable=False),
    Column("score_version", BigInteger, nullable=False),
    Column("next_review_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("state", LargeBinary, nullable=False, comment="CustomerState as MessagePack (domain/facts.py)."),
    Column("evaluated_policy", Text, comment="The policy version the customer was last routed under."),
)
Index("customers_next_review_at", customers.c.next_review_at, postgresql_where=customers.c.next_review_at.isnot(None))

routes = Table(
    "routes",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("decision_id", Uuid, nullable=False),
    Column("flow", Text, nullable=False),
    Column("advisor_id", Text),
    Column("priority", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("rule", Text, nullable=False),
    Column("tier", Text, nullable=False),
    Column("churn_band", Text),
    Column("reasons", JSONB, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("supersedes", Uuid),
    Column("caused_by", Uuid),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("experiment", JSONB, comment=EXPERIMENT_COMMENT),
)
Index("routes_flow", routes.c.flow, routes.c.customer_id)
Index("routes_advisor", routes.c.advisor_id, routes.c.customer_id, postgresql_where=routes.c.advisor_id.isnot(None))
Index("routes_tier", routes.c.tier, routes.c.customer_id)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", Uuid, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("flow", Text, nullable=False),
    Column("advisor_id", Text),
    Column("priority", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("rule", Text, nullable=False),
    Column("tier", Text, nullable=False),
    Column("churn_band", Text),
    Column("reasons", JSONB, nullable=False),
    Column("policy_version", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("supersedes", Uuid),
    Column("caused_by", Uuid),
    Column("experiment", JSONB, comment=EXPERIMENT_COMMENT),
    Column("facts", LargeBinary, comment=FACTS_COMMENT),
    comment="Every decision ever made: the audit trail.",
)
Index("decisions_customer", decisions.c.customer_id, decisions.c.version)

advisors = Table(
    "advisors",
    metadata,
    Column("advisor_id", Text, primary_key=True),
    Column("branch", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("licence_level", Integer, nullable=False),
    Column("languages", ARRAY(Text), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("load", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, comment="Who created the advisor (the token's sub); null before migration 0004."),
    Column("updated_by", Text, comment="Who wrote the advisor last (the token's sub); null before migration 0004."),
    *(
        Column(f"load_{t.lower()}", Integer, nullable=False, server_default=text("0"), comment=f"Load of tier {t}.")
        for t in TIERS
    ),
    comment="load is kept in the same transactions as the routes; it never exceeds capacity on assignment."
    " load_a..load_d split it by the tier each place counts under (domain/shares.py).",
)

waitlist = Table(
    "waitlist",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("region", Text),
    Column("need_level", Integer, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("tier", Text, comment="The tier whose share of places the customer waits for; null before 0008."),
    Column("value_score", Float, nullable=False, server_default=text("0"), comment="From tierflow.score.v1."),
    Column("churn_score", Float, nullable=False, server_default=text("0"), comment="Churn probability, score.v1."),
    comment="private_advisor customers waiting for capacity; promoted in the policy's waitlist order.",
)
Index("waitlist_requested", waitlist.c.requested_at)

overrides = Table(
    "overrides",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("flow", Text, nullable=False),
    Column("advisor_id", Text),
    Column("priority", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

override_audit = Table(
    "override_audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("customer_id", Text, nullable=False),
    Column("action", Text, nullable=False, comment="set, cleared or expired"),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("details", JSONB, nullable=False),
)
Index("override_audit_customer", override_audit.c.customer_id, override_audit.c.at)

routing_policies = Table(
    "routing_policies",
    metadata,
    Column("version", Text, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True)),
    Column("active", Boolean, nullable=False),
    Column("activated_by", Text, comment="Who made the version active last; null before migration 0004."),
)
Index("routing_policies_one_active", routing_policies.c.active, unique=True, postgresql_where=routing_policies.c.active)

change_audit = Table(
    "change_audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("subject", Text, nullable=False, comment="advisor or policy"),
    Column("subject_id", Text, nullable=False, comment="The advisor id or the policy version."),
    Column("action", Text, nullable=False, comment="created, updated, installed, uploaded or reactivated"),
    Column("actor", Text, nullable=False, comment="The token's sub (tierflow for the shipped default)."),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("details", JSONB, nullable=False),
    comment="Who changed an advisor or the active routing policy, when and how (overrides: override_audit).",
)
Index("change_audit_subject", change_audit.c.subject, change_audit.c.subject_id, change_audit.c.at)

decision_outcomes = Table(
    "decision_outcomes",
    metadata,
    Column("decision_id", Uuid, primary_key=True),
    Column("window_days", Integer, primary_key=True, comment="7, 30 or 90"),
    Column("customer_id", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False, comment="decided_at plus window_days: the window's end."),
    Column("status", Text, nullable=False, comment="pending or matured"),
    Column(
        "baseline", JSONB, nullable=False, comment="The decision and what was true then (domain/outcomes.Baseline)."
    ),
    Column("facts", JSONB, nullable=False, comment="The running facts folded in since (domain/outcomes.WindowFacts)."),
    Column("superseded_at", DateTime(timezone=True), comment="When a later decision replaced it before the end."),
    Column("superseded_by", Uuid),
    Column("outcome", JSONB, comment="The outcome, once matured (as on tierflow.outcome.v1)."),
    Column("matured_at", DateTime(timezone=True)),
    comment="One row per decision and attribution window (docs/experiments.md, outcomes).",
)
Index("decision_outcomes_due", decision_outcomes.c.due_at, postgresql_where=decision_outcomes.c.status == "pending")
Index(
    "decision_outcomes_pending_customer",
    decision_outcomes.c.customer_id,
    postgresql_where=decision_outcomes.c.status == "pending",
)

processed_events = add_inbox_table(metadata, with_content_hash=False)  # unused: routing dedupes by version
outbox = add_outbox_table(metadata)
