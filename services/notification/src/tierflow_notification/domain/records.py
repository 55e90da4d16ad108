"""A row of the notification log: what happened to a step, and why. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tierflow_common.events.outputs import NotificationChannel, NotificationStatus
from tierflow_notification.domain.steps import StoredStep


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """One row of the notification log (and one tierflow.notification.v1 message)."""

    notification_id: UUID
    step: StoredStep
    channel: NotificationChannel
    status: NotificationStatus
    reason: str
    due_at: datetime | None = None
    evidence: dict[str, Any] | None = None
