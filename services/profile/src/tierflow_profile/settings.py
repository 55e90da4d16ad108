"""Profile service settings (env prefix TIERFLOW_PROFILE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tierflow_common.config import ServiceSettings


class ProfileSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TIERFLOW_PROFILE_", frozen=True, extra="ignore")

    consumer_group: str = "tierflow-profile"
    db_schema: str = "profile"
    late_horizon_days: int | None = Field(
        default=400, ge=1, description="Events older than this (by the service clock) are dead-lettered."
    )
    future_tolerance_s: int | None = Field(
        default=86400, ge=0, description="Events dated further ahead than this are dead-lettered."
    )
