"""Advisor seats, pure: who may serve a customer, who has room, and what seat a decision needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from tierflow_common.events.outputs import Flow
from tierflow_routing.domain.facts import ProfileFacts, Route


def need_level(profile: ProfileFacts) -> int:
    """The advisor licence level a customer needs: their suitability level (C1 -> 1 .. C5 -> 5), 3 if unknown."""
    risk = profile.risk_level
    return int(risk[1]) if risk and len(risk) == 2 and risk[1].isdigit() else 3


@dataclass(frozen=True, slots=True)
class Advisor:
    advisor_id: str
    region: str
    capacity: int
    licence_level: int
    load: int
    active: bool
    used_by_tier: Mapping[str, int] = field(default_factory=dict)  # the load, by the tier each place counts under

    def used(self, tier: str) -> int:
        """Places taken by customers of `tier`."""
        return self.used_by_tier.get(tier, 0)


def eligible(advisor: Advisor, profile: ProfileFacts) -> bool:
    """Active, licensed for the customer's suitability level, and in the customer's region (if known)."""
    return (
        advisor.active
        and advisor.licence_level >= need_level(profile)
        and (profile.region is None or advisor.region == profile.region)
    )


def no_longer_suits(before: Advisor, after: Advisor) -> bool:
    """Whether a change to an advisor may leave some of their current customers ineligible for them:
    deactivated, moved to another region, or licensed for less."""
    return (
        (before.active and not after.active)
        or after.region != before.region
        or after.licence_level < before.licence_level
    )


def candidates(
    advisors: list[Advisor], profile: ProfileFacts, room: Callable[[Advisor], bool] | None = None
) -> list[str]:
    """Eligible advisors with free capacity (and `room` for the customer, when given: their tier's places),
    least loaded (relative to capacity) first."""
    free = [a for a in advisors if eligible(a, profile) and a.load < a.capacity and (room is None or room(a))]
    free.sort(key=lambda a: (a.load / a.capacity, a.load, a.advisor_id))
    return [a.advisor_id for a in free]


def held_advisor(route: Route | None) -> str | None:
    """The advisor whose capacity the customer occupies now (an active private_advisor route)."""
    if route is None or not route.active or route.flow != Flow.PRIVATE_ADVISOR.value:
        return None
    return route.advisor_id


@dataclass(frozen=True, slots=True)
class SeatRequest:
    """What a decision asks of advisor capacity, before anything is reserved.

    `needed` is False when the outcome is not an active private_advisor route. A staff override may
    `name` the advisor; otherwise the customer keeps the advisor they `hold` while still eligible, or
    takes the least-loaded eligible advisor with room in their `region` licensed for `need`. A new place is
    counted under the customer's `tier` and taken only while the tier is under its share, unless
    `within_share` is False (a staff override); the place held is counted under `held_tier`.
    """

    needed: bool
    held: str | None
    named: str | None
    region: str | None
    need: int
    tier: str = "A"
    held_tier: str | None = None
    within_share: bool = True
