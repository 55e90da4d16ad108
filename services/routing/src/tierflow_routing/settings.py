"""Routing service and API settings (env prefix TIERFLOW_ROUTING_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from tierflow_common.auth import JwtSettings
from tierflow_common.config import ServiceSettings, require_safe_secret
from tierflow_common.exceptions import ConfigurationError


class RoutingSettings(ServiceSettings, JwtSettings):
    model_config = SettingsConfigDict(env_prefix="TIERFLOW_ROUTING_", frozen=True, extra="ignore")

    consumer_group: str = "tierflow-routing"
    db_schema: str = "routing"
    cache_ttl_s: int = Field(default=900, ge=1, description="Bounds staleness if Redis missed a write.")
    cache_namespace: str = Field(default="", pattern=r"^[A-Za-z0-9:._-]*$")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes (uvloop, httptools).")
    default_policy_file: Path = Field(
        default=Path(__file__).parent / "policies" / "default.yaml",
        description="Installed and activated when no routing policy is active yet.",
    )
    policy_refresh_s: float = Field(default=10.0, gt=0)
    rate_limit_customer_rps: int = Field(default=20, ge=1, description="Per customer token, requests per second.")
    rate_limit_staff_rps: int = Field(default=200, ge=1, description="Per staff or service token.")
    override_max_days: int = Field(default=90, ge=1)

    @model_validator(mode="after")
    def _keys_present(self) -> RoutingSettings:
        if self.jwt_algorithm == "RS256" and "BEGIN PUBLIC KEY" not in self.jwt_public_key:
            raise ConfigurationError("TIERFLOW_ROUTING_JWT_PUBLIC_KEY must hold a PEM public key for RS256")
        return self

    def check_secrets(self) -> None:
        """Refuse to serve with a weak HS256 secret outside development."""
        if self.jwt_algorithm == "HS256":
            if not self.jwt_secret.get_secret_value():
                raise ConfigurationError("TIERFLOW_ROUTING_JWT_SECRET is not set")
            require_safe_secret("TIERFLOW_ROUTING_JWT_SECRET", self.jwt_secret, self.infra.environment)
