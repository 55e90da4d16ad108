"""The waitlist, pure: its order (value score x churn probability, or arrival), the reason for each position,
and which waiting customers the free places go to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tierflow_routing.domain.advisors import Advisor
from tierflow_routing.domain.resources import WaitlistOrder
from tierflow_routing.domain.shares import Places, room_for


@dataclass(frozen=True, slots=True)
class Waiting:
    """A customer waiting for an advisor: where, at which licence level, in which tier, with which figures."""

    customer_id: str
    region: str | None
    need_level: int
    tier: str | None
    value_score: float
    churn_score: float
    requested_at: datetime

    @property
    def priority(self) -> float:
        """Value score x churn probability: the most valuable customers most likely to leave first."""
        return self.value_score * self.churn_score


def ordered(waiting: Iterable[Waiting], order: WaitlistOrder) -> list[Waiting]:
    """The waitlist in promotion order; arrival (then customer id) breaks ties."""
    if order is WaitlistOrder.ARRIVAL:
        return sorted(waiting, key=lambda w: (w.requested_at, w.customer_id))
    return sorted(waiting, key=lambda w: (-w.priority, w.requested_at, w.customer_id))


def reason(entry: Waiting, order: WaitlistOrder) -> str:
    """The figures that put the customer where they are."""
    since = f"waiting since {entry.requested_at:%Y-%m-%d %H:%M:%S}Z"
    if order is WaitlistOrder.ARRIVAL:
        return f"{since} (order: arrival)"
    return (
        f"value score {entry.value_score:.3f} x churn probability {entry.churn_score:.3f} = {entry.priority:.4f}; "
        f"{since} (order: value_times_risk, arrival breaks ties)"
    )


def could_serve(advisor: Advisor, entry: Waiting) -> bool:
    """Active, licensed for the customer's need, in their region (any when unknown)."""
    return (
        advisor.active
        and advisor.licence_level >= entry.need_level
        and (entry.region is None or advisor.region == entry.region)
    )


def promotions(
    waiting: Sequence[Waiting],
    team: Iterable[Advisor],
    places: Mapping[str, Places],
    *,
    limit: int,
    skip: frozenset[str] | set[str] = frozenset(),
) -> list[Waiting]:
    """Who the free places go to: walking the waitlist in its order, each customer some advisor has room for (a
    free place, their tier under its places with that advisor) takes one, least loaded first, until `limit`. A
    customer nobody has room for is passed over, not a barrier to those behind."""
    board = {a.advisor_id: a for a in team}
    picked: list[Waiting] = []
    for entry in waiting:
        if len(picked) >= limit:
            break
        if entry.customer_id in skip:
            continue
        tier = entry.tier  # None: waiting since before tiers were kept; no share applies until routed again
        fits = [
            a
            for a in board.values()
            if could_serve(a, entry) and room_for(a, tier or "", None if tier is None else places.get(a.advisor_id, {}))
        ]
        if not fits:
            continue
        chosen = min(fits, key=lambda a: (a.load / a.capacity, a.load, a.advisor_id))
        used = dict(chosen.used_by_tier)
        if tier is not None:
            used[tier] = used.get(tier, 0) + 1
        board[chosen.advisor_id] = replace(chosen, load=chosen.load + 1, used_by_tier=used)
        picked.append(entry)
    return picked
