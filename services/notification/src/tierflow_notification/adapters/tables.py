"""The notification service's tables, all in its own schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from tierflow_common.db.tables import add_inbox_table, add_outbox_table

metadata = MetaData()
CALL_COMMENT = "A call to the customer: counts against its tier's calls a day (0009)."

notifications = Table(
    "notifications",
    metadata,
    Column("notification_id", Uuid, primary_key=True),
    Column("decision_id", Uuid, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("flow", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("message_class", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("step_id", Uuid),
    Column("evidence", JSONB, comment="Consent evidence: purpose, granted, as of which customer event."),
)
Index("notifications_customer", notifications.c.customer_id)
Index(
    "notifications_marketing_sent",
    notifications.c.customer_id,
    notifications.c.recorded_at,
    postgresql_where=text("status = 'sent' AND message_class = 'marketing'"),
)
Index("notifications_decision", notifications.c.decision_id)

customer_decisions = Table(
    "customer_decisions",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("last_decision_version", BigInteger, nullable=False),
    Column("last_decision_id", Uuid, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("plan_decision_id", Uuid, comment="The decision whose playbook is in force (null: none)."),
    Column("plan_flow", Text),
    Column("plan_priority", Text),
    Column("plan_advisor_id", Text),
    Column("plan_playbook", Text, comment="The playbook variant the plan plays (null: the flow's own playbook)."),
    Column("holdout", Boolean, comment="The newest decision is in the global holdout (null: seen before 0006)."),
    comment="The newest routing decision seen per customer, to suppress stale ones.",
)

contacts = Table(
    "contacts",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("consents", JSONB, nullable=False),
    Column("consents_as_of", DateTime(timezone=True), comment="occurred_at of the customer event they came from."),
    Column("timezone", Text, nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("last_active_at", DateTime(timezone=True), comment="Latest trade or login."),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    comment="The notification service's own projection of tierflow.customer.v1, trades and logins.",
)

steps = Table(
    "steps",
    metadata,
    Column("step_id", Uuid, primary_key=True, comment="Derived from decision_id and the step name."),
    Column("customer_id", Text, nullable=False),
    Column("decision_id", Uuid, nullable=False),
    Column("flow", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("channels", JSONB, nullable=False),
    Column("message_class", Text, nullable=False),
    Column("stop_when_active", Boolean, nullable=False),
    Column("advisor_id", Text),
    Column("priority", Text, nullable=False),
    Column("task_due_days", Float, nullable=False),
    Column("planned_at", DateTime(timezone=True), nullable=False),
    Column("first_due_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, comment="pending, sending, done or cancelled."),
    Column("attempts", Integer, nullable=False),
    Column("channel", Text, comment="The channel chosen when it was sent."),
    Column("last_reason", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("every", Text, comment="A recurring step's period (ISO 8601); null: a one-off step."),
    Column("series_start", DateTime(timezone=True), comment="When occurrence 0 of the series opened."),
    Column("occurrence", Integer, nullable=False, server_default=text("0"), comment="The occurrence's number."),
    Column("satisfied_by_contact", Boolean, nullable=False, server_default=text("false")),
    Column("step_window", Text, comment="A recurring task's window (ISO 8601); null: the period."),
    Column("tier", Text, comment="The tier of the decision that planned it (null: planned before 0008)."),
    Column("outbound_call", Boolean, nullable=False, server_default=text("false"), comment=CALL_COMMENT),
    comment="Durable outreach timers: a restart neither loses nor repeats a step.",
)
Index("steps_due", steps.c.due_at, postgresql_where=text("status IN ('pending', 'sending')"))
Index("steps_customer", steps.c.customer_id, postgresql_where=text("status IN ('pending', 'sending')"))
Index(
    "steps_satisfiable",
    steps.c.customer_id,
    steps.c.first_due_at,
    postgresql_where=text("satisfied_by_contact AND status IN ('pending', 'done')"),
)

call_capacity = Table(
    "call_capacity",
    metadata,
    Column("day", Date, primary_key=True, comment="The calling day, in governance.calls' timezone."),
    Column("tier", Text, primary_key=True),
    Column("used", Integer, nullable=False, comment="Calls of the tier handed to the workbench that day."),
    comment="Outbound calls used per day and tier, against governance.calls (domain/calls.py).",
)

advisor_tasks = Table(
    "advisor_tasks",
    metadata,
    Column("task_id", Uuid, primary_key=True, comment="The notification id of the step that created it."),
    Column("advisor_id", Text, comment="Null: the outreach team's queue."),
    Column("customer_id", Text, nullable=False),
    Column("decision_id", Uuid, nullable=False),
    Column("template", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, comment="open, done or cancelled."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", Text),
    Column("evidence_event_id", Uuid, comment="The contact.logged event that satisfied the task, if one did."),
    Column("outcome", Text, comment="What the closer reported: done, reached, no_answer or declined."),
    Column("reason", Text, comment="Why the customer left, when the task asked (or the closer said)."),
    Column("tier", Text, comment="The customer's tier when the task was planned (null: created before 0008)."),
)
Index(
    "advisor_tasks_open", advisor_tasks.c.advisor_id, advisor_tasks.c.due_at, postgresql_where=text("status = 'open'")
)
# Coverage reads an advisor's (or every advisor's) tasks due in a window (adapters/coverage.py).
Index("advisor_tasks_due", advisor_tasks.c.advisor_id, advisor_tasks.c.due_at)

delivery_failures = Table(
    "delivery_failures",
    metadata,
    Column("notification_id", Uuid, primary_key=True),
    Column("step_id", Uuid, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    comment="Dead-letter records: messages a provider never accepted after every retry.",
)

processed_events = add_inbox_table(metadata)
outbox = add_outbox_table(metadata)
