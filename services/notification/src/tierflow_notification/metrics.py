"""Notification's business metrics."""

from __future__ import annotations

from prometheus_client import Counter

NOTIFICATIONS = Counter(
    "tierflow_notifications_total",
    "Notifications recorded, by flow, channel, outcome (sent, deferred, suppressed, failed) and reason.",
    ["flow", "channel", "status", "reason"],
)
