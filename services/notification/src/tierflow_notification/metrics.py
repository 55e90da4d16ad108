"""Notification's business metrics."""

from __future__ import annotations

from prometheus_client import Counter

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
