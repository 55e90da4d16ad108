"""Scoring service settings (env prefix TIERFLOW_SCORING_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tierflow_common.config import ServiceSettings


class ScoringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TIERFLOW_SCORING_", frozen=True, extra="ignore")

    consumer_group: str = "tierflow-scoring"
    db_schema: str = "scoring"
    default_policy_file: Path = Field(
        default=Path(__file__).parent / "policies" / "default.yaml",
        description="Installed and activated when no policy is active yet.",
    )
    rules_refresh_s: float = Field(default=10.0, gt=0, description="How often an activated policy/model is picked up.")
