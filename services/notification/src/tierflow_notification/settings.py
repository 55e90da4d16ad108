"""Notification service settings (env prefix TIERFLOW_NOTIFICATION_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tierflow_common.auth import JwtSettings
from tierflow_common.config import AdmissionSettings, ServiceSettings
from tierflow_common.events.outputs import NotificationChannel

ENV_PREFIX = "TIERFLOW_NOTIFICATION_"


class NotificationSettings(ServiceSettings, JwtSettings):
    """The notification worker's settings: playbooks, delivery, the task API's tokens."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    consumer_group: str = "tierflow-notification"
    db_schema: str = "notification"
    admission: AdmissionSettings = Field(
        default_factory=AdmissionSettings,
        description="The late-arrival horizon and future tolerance, shared with profile "
        "(TIERFLOW_LATE_HORIZON_DAYS, TIERFLOW_FUTURE_TOLERANCE_S).",
    )
    sweep_interval_s: float = Field(default=1.0, gt=0, description="How often due outreach steps are looked for.")
    playbook_file: Path = Field(
        default=Path(__file__).parent / "playbooks" / "default.yaml",
        description="The playbooks and governance rules (validated at start-up).",
    )
    clock_speed: float = Field(
        default=1.0, gt=0, description="Above 1, the step timers run on an accelerated clock (tests, demos)."
    )
    webhook_url: str = Field(default="", description="When set, customer channels are delivered to this URL.")
    webhook_channels: list[NotificationChannel] = Field(
        default=[NotificationChannel.PUSH, NotificationChannel.SMS, NotificationChannel.EMAIL],
        description="The channels the webhook delivers (the others use the log adapter).",
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    breaker_threshold: int = Field(default=5, ge=1, description="Failures in a row that open the circuit.")
    breaker_reset_s: float = Field(default=30.0, gt=0, description="How long an open circuit waits before a trial.")
    delivery_max_attempts: int = Field(
        default=6,
        ge=1,
        description="Hand-overs to a provider per step, re-sends after a lapsed lease included; "
        "then the message is dead-lettered.",
    )
    delivery_backoff_s: float = Field(default=2.0, gt=0, description="First retry delay; doubles per attempt.")
    delivery_backoff_max_s: float = Field(default=600.0, gt=0)
    sending_lease_s: float = Field(
        default=60.0, gt=0, description="A step left 'sending' this long (a crash) is delivered again."
    )
    deliver_concurrency: int = Field(default=32, ge=1)
    coverage_refresh_s: float = Field(
        default=60.0, gt=0, description="How often the service coverage gauges are read from advisor_tasks."
    )
    task_api_max_body_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Largest request body the task API reads (413 beyond)."
    )

    def check_secrets(self) -> None:
        """Refuse to start the task API with a key that cannot verify tokens safely (as the routing API does)."""
        self.check_token_keys(ENV_PREFIX, self.infra.environment)
