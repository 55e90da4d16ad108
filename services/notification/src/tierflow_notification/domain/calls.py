"""Outbound call capacity: how many calls advisors and the call team make a day, and each tier's share. Pure.

DOMAIN.md splits service resources 30/40/20/10% among tiers A/B/C/D. Routing enforces that split on advisor
places; this is the same split on outbound calls, enforced where calls are planned: a step marked
`outbound_call` becomes an advisor task only while its tier has calls left today (docs/notification.md,
"Outbound call capacity").

- `per_day` calls a day (0: no limit), the day in `timezone`;
- each tier gets its share of them, rounded by largest remainder so the limits add up to `per_day` exactly
  (ties go to the tier first in A-D order): 200 a day at 30/40/20/10 is 60/80/40/20;
- a call over its tier's limit waits for the next day (deferred `call_share_spent`), and is dropped
  (suppressed `call_share_spent`) once it is more than `give_up_after_days` late;
- a tier's unused calls are not lent to another: the share is a guarantee for the tier's calls that fall due
  later the same day, not only a cap.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tierflow_common.events.outputs import Tier

DEFAULT_SHARES = {Tier.A: 0.30, Tier.B: 0.40, Tier.C: 0.20, Tier.D: 0.10}
SHARE_SPENT = "call_share_spent"


class CallCapacity(BaseModel):
    """`governance.calls` of the playbook file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_day: int = Field(default=0, ge=0, description="Outbound calls a day across the firm; 0: no limit.")
    shares: dict[Tier, float] = Field(
        default_factory=lambda: dict(DEFAULT_SHARES), description="Each tier's share of the calls; adds up to 1."
    )
    timezone: str = Field(default="Asia/Shanghai", description="Where a day starts and ends.")
    give_up_after_days: float = Field(default=30, gt=0, description="A call this late (from its due time) is dropped.")

    @model_validator(mode="after")
    def _shares_of_every_tier_adding_up_to_one(self) -> CallCapacity:
        if set(self.shares) != set(Tier):
            raise ValueError(f"shares: give a share for each of A, B, C, D, not {sorted(self.shares)}")
        if any(not 0 <= share <= 1 for share in self.shares.values()):
            raise ValueError("shares: each share is between 0 and 1")
        total = sum(self.shares.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"shares: the tier shares must add up to 1; these add up to {total:.6g}")
        try:
            ZoneInfo(self.timezone)  # an unknown zone is refused here, not at the first call
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: no time zone {self.timezone!r}") from exc
        return self

    @property
    def limited(self) -> bool:
        return self.per_day > 0

    def limits(self) -> dict[Tier, int]:
        """Each tier's calls a day: its share of `per_day`, by largest remainder (the limits add up to per_day)."""
        exact = {tier: self.per_day * self.shares[tier] for tier in Tier}
        limits = {tier: math.floor(exact[tier]) for tier in Tier}
        order = sorted(Tier, key=lambda tier: (-(exact[tier] - limits[tier]), tier.value))
        for tier in order[: self.per_day - sum(limits.values())]:
            limits[tier] += 1
        return limits

    def day_of(self, moment: datetime) -> date:
        """The calling day a moment falls on."""
        return moment.astimezone(ZoneInfo(self.timezone)).date()

    def next_day(self, moment: datetime) -> datetime:
        """When the calling day after `moment`'s starts."""
        return datetime.combine(self.day_of(moment) + timedelta(days=1), time(0), tzinfo=ZoneInfo(self.timezone))

    def gives_up(self, first_due_at: datetime, now: datetime) -> bool:
        """Whether a call still over its share at `now` is too late to wait another day."""
        return self.next_day(now) > first_due_at + timedelta(days=self.give_up_after_days)
