"""The policy's `resources:` and `waitlist:` sections: each tier's share of scarce capacity, the waitlist order.

Plain pydantic models, validated with the rest of the routing policy (domain/policy.py). The arithmetic that
turns shares into places lives in domain/shares.py; the waitlist order in domain/waitlist.py.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

TIERS = ("A", "B", "C", "D")
DEFAULT_SHARES = {"A": 0.30, "B": 0.40, "C": 0.20, "D": 0.10}  # DOMAIN.md: service resources per tier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierShares(_Strict):
    """A share per tier, each in [0, 1], adding up to 1 (a tier left out keeps its default share)."""

    A: float = Field(default=DEFAULT_SHARES["A"], ge=0, le=1)
    B: float = Field(default=DEFAULT_SHARES["B"], ge=0, le=1)
    C: float = Field(default=DEFAULT_SHARES["C"], ge=0, le=1)
    D: float = Field(default=DEFAULT_SHARES["D"], ge=0, le=1)

    @model_validator(mode="after")
    def _add_up_to_one(self) -> TierShares:
        total = sum(self.by_tier().values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"the tier shares must add up to 1; these add up to {total:.6g}")
        return self

    def by_tier(self) -> dict[str, float]:
        """{tier: share}, A to D."""
        return {tier: float(getattr(self, tier)) for tier in TIERS}


CALLS_MOVED = (
    "outbound_calls is set in the notification service's playbook file (governance.calls), beside the call "
    "capacity, where the task planner that enforces it reads it (docs/notification.md, 'Outbound call capacity')"
)


class Resources(_Strict):
    """Each tier's share of advisor places, enforced by routing's assignment.

    The tiers' shares of outbound call capacity are notification's (governance.calls in its playbook file): the
    task planner enforces them, and a routing policy only reaches notification through decisions, which a
    change of shares alone would not publish. A policy that still names `outbound_calls` is refused with that.
    """

    advisor_places: TierShares = TierShares()
    lend_unused: bool = Field(
        default=True,
        description="Lend the advisor-place share of a tier this policy never sends to a private advisor to the "
        "tiers it does, in proportion to their shares.",
    )

    @model_validator(mode="before")
    @classmethod
    def _calls_are_notifications(cls, data: object) -> object:
        if isinstance(data, dict) and "outbound_calls" in data:
            raise ValueError(CALLS_MOVED)
        return data


class WaitlistOrder(StrEnum):
    VALUE_TIMES_RISK = "value_times_risk"  # value score x churn probability, highest first; arrival breaks ties
    ARRIVAL = "arrival"  # the longest waiting first


class Waitlist(_Strict):
    """How customers waiting for an advisor are ordered for promotion."""

    order: WaitlistOrder = WaitlistOrder.VALUE_TIMES_RISK
