"""Channel adapters: how a message leaves tierflow. Each is idempotent on the notification id.

- LogAdapter: the embedded default for push, SMS and email (one JSON log line, ids only).
- WebhookAdapter: POSTs JSON to a configured URL with the notification id as `Idempotency-Key`,
  behind a circuit breaker. Retries with exponential backoff are durable (the step runner
  reschedules the step), so a slow or failing provider never holds up other customers.
- AdvisorTaskAdapter: writes the task to the advisor workbench store (created once per id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, Priority, Tier
from tierflow_notification.adapters import tasks
from tierflow_notification.domain.tasks import AdvisorTask, TaskStatus

log = logging.getLogger("tierflow.notification.delivery")


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What an adapter sends: pseudonymous ids and a template name, never personal data."""

    notification_id: UUID
    decision_id: UUID
    customer_id: str
    flow: Flow
    channel: NotificationChannel
    message_class: MessageClass
    template: str
    advisor_id: str | None
    priority: Priority
    sent_at: datetime
    task_due_at: datetime
    tier: Tier | None = None  # kept on the advisor task (coverage by tier); not sent to providers

    def as_json(self) -> dict[str, Any]:
        """The body a provider receives: ids, flow, channel and template, nothing personal."""
        return {
            "notification_id": str(self.notification_id),
            "decision_id": str(self.decision_id),
            "customer_id": self.customer_id,
            "flow": self.flow.value,
            "channel": self.channel.value,
            "message_class": self.message_class.value,
            "template": self.template,
        }


class DeliveryError(Exception):
    """The provider did not take the message; `retryable` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class CircuitOpen(DeliveryError):
    """The provider failed repeatedly; calls are paused until `retry_at` (monotonic seconds)."""

    def __init__(self, retry_in_s: float) -> None:
        super().__init__(f"circuit open for {retry_in_s:.1f}s")
        self.retry_in_s = retry_in_s


class ChannelAdapter(Protocol):
    """How messages leave on one channel; idempotent on the notification id."""

    async def deliver(self, message: OutboundMessage) -> None:
        """Hand the message over, or raise DeliveryError."""
        ...


class LogAdapter:
    """The embedded default: one JSON log line per delivered message (ids only, no personal data)."""

    async def deliver(self, message: OutboundMessage) -> None:
        """Log the message as delivered."""
        log.info("notification delivered", extra=message.as_json())


class CircuitBreaker:
    """Closed until `threshold` failures in a row, then open for `reset_after_s`; then one trial call
    (half-open): success closes it, failure opens it again."""

    def __init__(
        self, *, threshold: int = 5, reset_after_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = threshold
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        """closed, open, or half_open (the reset time has passed: one trial may go through)."""
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self._reset_after_s else "open"

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go through now."""
        state = self.state
        if state == "open" or (state == "half_open" and self._trial_running):
            assert self._opened_at is not None
            raise CircuitOpen(max(0.0, self._reset_after_s - (self._clock() - self._opened_at)) or 1.0)
        if state == "half_open":
            self._trial_running = True

    def succeeded(self) -> None:
        """A call went through: close the circuit."""
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def failed(self) -> None:
        """A call failed: count it, and open the circuit at the threshold or after a failed trial."""
        self._trial_running = False
        self._failures += 1
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()


class WebhookAdapter:
    """POST the message as JSON; 2xx is delivered, 4xx other than 408/429 is final, anything else retried."""

    def __init__(self, url: str, *, timeout_s: float = 5.0, breaker: CircuitBreaker | None = None) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self.breaker = breaker or CircuitBreaker()

    async def deliver(self, message: OutboundMessage) -> None:
        """POST the message with its notification id as Idempotency-Key."""
        self.breaker.before_call()
        try:
            response = await self._client.post(
                self._url, json=message.as_json(), headers={"Idempotency-Key": str(message.notification_id)}
            )
        except httpx.HTTPError as exc:
            self.breaker.failed()
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}") from exc
        if response.is_success:
            self.breaker.succeeded()
            return
        final = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
        if not final:
            self.breaker.failed()
        raise DeliveryError(f"webhook answered {response.status_code}", retryable=not final)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


class AdvisorTaskAdapter:
    """Opens the task on the advisor's workbench (or the outreach queue when there is no advisor)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def deliver(self, message: OutboundMessage) -> None:
        """Open the task once, in its own transaction."""
        async with self._engine.begin() as conn:
            await tasks.open_task(
                conn,
                AdvisorTask(
                    task_id=message.notification_id,
                    advisor_id=message.advisor_id,
                    customer_id=message.customer_id,
                    decision_id=message.decision_id,
                    template=message.template,
                    priority=message.priority,
                    due_at=message.task_due_at,
                    status=TaskStatus.OPEN,
                    created_at=message.sent_at,
                    tier=message.tier,
                ),
            )
