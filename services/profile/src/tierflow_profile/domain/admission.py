"""Which events a profile accepts: the written rule for events too old or too far in the future.

- Older than the late-arrival horizon (default 400 days, longer than every window): dead-lettered
  with the reason, so the integrator sees it and an operator can replay it with `tierflow profile
  rebuild` (which has no horizon).
- Dated more than the future tolerance (default 1 day) after now: dead-lettered; such a date would
  otherwise sit in every window until that day comes.
- Events for closed customers are applied like any other (the profile keeps complete history and
  stays independent of arrival order); `closed` is published and downstream services act on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class AdmissionRule:
    """The late-arrival horizon and the future tolerance; None disables a check (rebuilds)."""

    horizon_days: int | None = 400
    future_tolerance: timedelta | None = timedelta(days=1)


def rejection(occurred_at: datetime, now: datetime, rule: AdmissionRule) -> str | None:
    """The reason an event is refused, or None when it is applied."""
    if rule.horizon_days is not None and occurred_at < now - timedelta(days=rule.horizon_days):
        return f"occurred_at is older than the late-arrival horizon of {rule.horizon_days} days"
    if rule.future_tolerance is not None and occurred_at > now + rule.future_tolerance:
        return f"occurred_at is more than {rule.future_tolerance} ahead of the service clock"
    return None
