"""Routing service and API settings (env prefix TIERFLOW_ROUTING_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tierflow_common.auth import JwtSettings
from tierflow_common.config import ServiceSettings

ENV_PREFIX = "TIERFLOW_ROUTING_"


class RoutingSettings(ServiceSettings, JwtSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

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
    rate_limit_unauthenticated_rps: int = Field(
        default=10, ge=1, description="Per client address, requests without a valid token (then 429 instead of 401)."
    )
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body (413 beyond).")
    api_max_policy_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest body of /v1/policies (a policy upload or simulation)."
    )
    api_forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For names the client (whom requests without a token count against).",
    )
    override_max_days: int = Field(default=90, ge=1)
    outcome_grace_s: float = Field(
        default=3600, ge=0, description="How long an outcome window waits after its end for late facts."
    )

    def check_secrets(self) -> None:
        """Refuse to serve with a key that cannot verify tokens safely (libs/common's one check)."""
        self.check_token_keys(ENV_PREFIX, self.infra.environment)
