"""Profile service settings (env prefix TIERFLOW_PROFILE_; the admission rule's are shared: TIERFLOW_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tierflow_common.config import AdmissionSettings, ServiceSettings


class ProfileSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TIERFLOW_PROFILE_", frozen=True, extra="ignore")

    consumer_group: str = "tierflow-profile"
    db_schema: str = "profile"
    admission: AdmissionSettings = Field(
        default_factory=AdmissionSettings,
        description="The late-arrival horizon and future tolerance, shared with notification "
        "(TIERFLOW_LATE_HORIZON_DAYS, TIERFLOW_FUTURE_TOLERANCE_S).",
    )
