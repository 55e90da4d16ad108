"""Typed, frozen settings: infrastructure addresses shared by all services, plus per-service knobs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tierflow_common.exceptions import ConfigurationError

Environment = Literal["development", "test", "production"]
ClockMode = Literal["wall", "event"]


class InfraSettings(BaseSettings):
    """Where Kafka, PostgreSQL and Redis live. Unprefixed names, as every deployment tool expects."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, validation_alias="KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str | None = Field(default=None, validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(default=None, validation_alias="KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: str | None = Field(default=None, validation_alias="KAFKA_SSL_CAFILE")
    database_url: SecretStr = Field(
        default=SecretStr("postgresql://postgres@127.0.0.1:5432/postgres"), validation_alias="DATABASE_URL"
    )
    redis_url: SecretStr = Field(default=SecretStr("redis://127.0.0.1:6379/0"), validation_alias="REDIS_URL")
    topic_prefix: str = Field(default="", validation_alias="TIERFLOW_TOPIC_PREFIX", pattern=r"^[A-Za-z0-9._-]*$")
    environment: Environment = Field(default="production", validation_alias="TIERFLOW_ENV")


class AdmissionSettings(BaseSettings):
    """The admission rule of every service that reads the input topics (`tierflow_common.admission`).

    Unprefixed names, read by profile and notification alike, so the two never disagree about an event.
    """

    model_config = SettingsConfigDict(env_prefix="TIERFLOW_", frozen=True, extra="ignore")

    late_horizon_days: int | None = Field(
        default=400, ge=1, description="Windowed facts (trades, logins, contacts) older than this are dead-lettered."
    )
    future_tolerance_s: int | None = Field(
        default=86400,
        ge=0,
        description="Events dated further ahead of when they were produced (their Kafka timestamp) are dead-lettered.",
    )


class ServiceSettings(BaseSettings):
    """Knobs every consuming service has; subclasses set `env_prefix` (e.g. TIERFLOW_PROFILE_)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    infra: InfraSettings = Field(default_factory=InfraSettings)
    consumer_group: str = ""
    db_schema: str = Field(default="", pattern=r"^[a-z_][a-z0-9_]*$|^$")
    ops_host: str = "127.0.0.1"
    ops_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port.")
    batch_max_records: int = Field(default=2000, ge=1)
    batch_timeout_ms: int = Field(default=200, ge=1)
    max_attempts: int = Field(default=3, ge=1, description="Attempts before a failing event is dead-lettered.")
    retry_backoff_ms: int = Field(default=100, ge=1)
    retry_backoff_max_ms: int = Field(default=5000, ge=1)
    session_timeout_ms: int = Field(default=10000, ge=1000)
    max_poll_interval_ms: int = Field(
        default=300000,
        ge=1000,
        description="Kafka's max.poll.interval.ms; the loop's work on one poll stops after half of it.",
    )
    dead_letter_max_bytes: int = Field(
        default=1_000_000,
        ge=4096,
        description="A dead letter larger than this has its value cut to fit (the whole message stays at its origin).",
    )
    clock: ClockMode = "wall"
    sweep_interval_s: float = Field(default=5.0, gt=0)
    sweep_batch: int = Field(default=500, ge=1)
    log_level: str = "INFO"
    db_pool_size: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _names_default_to_service(self) -> ServiceSettings:
        if not self.consumer_group or not self.db_schema:
            raise ConfigurationError("consumer_group and db_schema must be set by the service's settings class")
        return self


WELL_KNOWN_SECRETS = frozenset({"changeme", "secret", "password", "tierflow"})
MIN_DISTINCT_CHARACTERS = 8


def require_safe_secret(name: str, secret: SecretStr, environment: Environment, *, min_length: int = 32) -> None:
    """Refuse a missing, short, well-known, development (`dev-...`) or repetitive secret outside development.

    The checks ignore case and surrounding spaces: `DEV-...` and ` Changeme ` are the same mistakes.
    """
    value = secret.get_secret_value().strip()
    if environment == "development":
        return
    folded = value.lower()
    weak = (
        len(value) < min_length
        or folded.startswith("dev-")
        or folded in WELL_KNOWN_SECRETS
        or len(set(value)) < MIN_DISTINCT_CHARACTERS
    )
    if weak:
        raise ConfigurationError(
            f"{name} is unsafe for {environment}: set a random value of at least {min_length} characters"
            " (not a development secret)"
        )
