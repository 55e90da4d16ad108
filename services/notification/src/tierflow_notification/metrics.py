"""Notification's business metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

NOTIFICATIONS = Counter(
    "tierflow_notifications_total",
    "Notifications recorded, by flow, channel, outcome (sent, deferred, suppressed, failed) and reason.",
    ["flow", "channel", "status", "reason"],
)

PLAYBOOK_FALLBACKS = Counter(
    "tierflow_notification_playbook_fallbacks_total",
    "New decisions whose experiment arm named a playbook variant their flow does not have, so the flow's own "
    "playbook plays; by flow and reason (unknown_playbook, playbook_of_other_flow).",
    ["flow", "reason"],
)

# Service coverage (domain/coverage.py), refreshed from advisor_tasks over the last 30 days by due date
# (gauges.py); one series per advisor and tier with a promised task, tier "unknown" for tasks before 0008.
COVERAGE_RATIO = Gauge(
    "tierflow_service_coverage_ratio",
    "Share of an advisor's promised tasks (due in the last 30 days, not cancelled) done by their due time, by tier.",
    ["advisor", "tier"],
)
PROMISED_TASKS = Gauge(
    "tierflow_service_promised_tasks",
    "An advisor's tasks due in the last 30 days and not cancelled, by tier.",
    ["advisor", "tier"],
)
ONTIME_TASKS = Gauge(
    "tierflow_service_ontime_tasks",
    "An advisor's tasks due in the last 30 days that were done by their due time, by tier.",
    ["advisor", "tier"],
)
OVERDUE_TASKS = Gauge(
    "tierflow_service_overdue_tasks",
    "An advisor's tasks due in the last 30 days that are still open past their due time, by tier.",
    ["advisor", "tier"],
)

# Outbound call capacity (domain/calls.py): calls counted against their tier's share of the day, and calls that
# found it spent (each then waits a day or is dropped; the record says which).
OUTBOUND_CALLS = Counter(
    "tierflow_notification_outbound_calls_total",
    "Outbound calls planned as advisor tasks under governance.calls, by tier and outcome (taken, share_spent).",
    ["tier", "outcome"],
)
