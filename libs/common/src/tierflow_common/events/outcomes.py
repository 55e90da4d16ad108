"""The outcome of a routing decision over an attribution window (tierflow.outcome.v1, docs/experiments.md)."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from tierflow_common.events.outputs import ChurnBand, ExperimentAssignment, Flow, Tier
from tierflow_common.events.payloads import Payload
from tierflow_common.events.types import Money


class WindowDays(IntEnum):
    WEEK = 7
    MONTH = 30
    QUARTER = 90


class BandMove(StrEnum):
    UP = "up"  # riskier: low -> medium -> high
    DOWN = "down"
    SAME = "same"


class OutcomeRecordedPayload(Payload):
    """What happened in the `window_days` after a decision; published once, when the window matures."""

    decision_id: UUID
    decision_version: int = Field(ge=1, description="The decision's per-customer version.")
    window_days: WindowDays
    window_start: AwareDatetime = Field(description="The decision's decided_at.")
    window_end: AwareDatetime = Field(description="window_start plus window_days; facts up to here count.")
    flow: Flow
    tier: Tier = Field(description="The tier at the decision.")
    churn_band: ChurnBand | None = Field(default=None, description="The churn band at the decision.")
    experiment: ExperimentAssignment | None = Field(
        default=None, description="The experiment arm (or the global holdout) of the decision; null when none."
    )
    superseded_at: AwareDatetime | None = Field(
        default=None, description="When a later decision replaced this one before the window's end; null when none."
    )
    superseded_by: UUID | None = Field(default=None, description="The decision that replaced it.")
    traded_again: bool = Field(description="A trade after the decision, up to the window's end.")
    logged_in: bool = Field(description="A successful login after the decision, up to the window's end.")
    kept_or_regained_tier: bool = Field(
        description="The tier at the window's end is the decision's tier or higher; for a decision at D: not D."
    )
    became_dormant: bool = Field(description="Scored D within the window (never for a decision at D).")
    closed: bool = Field(description="The account was closed within the window.")
    churn_band_moved: BandMove | None = Field(
        default=None, description="The band at the end against the band at the decision; null when either is unknown."
    )
    tier_at_end: Tier | None = None
    churn_band_at_end: ChurnBand | None = None
    net_inflow: Money | None = Field(
        default=None,
        description="Transfers in minus out over the window's days, as the profile states them at its end "
        "(net_inflow_30d / net_inflow_90d); null for the 7-day window.",
    )
