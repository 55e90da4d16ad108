"""What a candidate routing policy would do to the current population, pure: nothing is applied."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from tierflow_common.events.outputs import Flow
from tierflow_routing.domain.advisors import Advisor, candidates, eligible, held_advisor
from tierflow_routing.domain.decision import wanted_outcome
from tierflow_routing.domain.facts import CustomerState, ProfileFacts
from tierflow_routing.domain.policy import RoutingPolicy
from tierflow_routing.domain.resources import TIERS, WaitlistOrder
from tierflow_routing.domain.shares import Places, advisor_shares, places_by_tier, room_for
from tierflow_routing.domain.waitlist import Waiting, ordered


@dataclass(frozen=True, slots=True)
class Outcome:
    """One routed customer under the candidate: where they are, the advisor they hold, where they would go."""

    current: str
    held: str | None
    target: str
    profile: ProfileFacts
    tier: str = "A"
    held_tier: str | None = None
    within_share: bool = True
    value_score: float = 0.0
    churn_score: float = 0.0
    waiting_since: datetime | None = None
    customer_id: str = ""


@dataclass
class Simulation:
    customers: int
    changed: int
    moves: dict[str, dict[str, int]]
    load_now: dict[str, int]
    load_after: dict[str, int]
    team: list[Advisor] = field(default_factory=list)
    waitlist_after: int = 0
    places: dict[str, Places] = field(default_factory=dict)  # {advisor_id: {tier: places}} under the candidate
    used_after: dict[str, Places] = field(default_factory=dict)  # {advisor_id: {tier: load}} after


def outcome(state: CustomerState, candidate: RoutingPolicy, now: datetime) -> Outcome | None:
    """Where the candidate would send a customer (None for a customer not yet scored)."""
    if state.score.tier is None:
        return None
    route = state.route
    current = "none" if route is None else route.flow
    wanted = wanted_outcome(state, candidate, now)
    held = held_advisor(route)
    tier = state.score.tier or "A"
    return Outcome(
        current,
        held,
        wanted.flow.value if wanted.active else current,
        state.profile,
        tier=tier,
        held_tier=None if held is None else (state.advisor_tier or tier),
        within_share=wanted.rule != "staff_override",
        value_score=state.score.value_score,
        churn_score=state.score.churn_score,
        waiting_since=state.waitlisted_since or now,
        customer_id=state.customer_id,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _queue(newcomers: list[Outcome], order: WaitlistOrder) -> list[Outcome]:
    """Customers who need a new place, in the candidate's waitlist order (a customer waiting now keeps their
    arrival; the others arrive now)."""
    by_id = {o.customer_id: o for o in newcomers}
    entries = [
        Waiting(o.customer_id, o.profile.region, 0, o.tier, o.value_score, o.churn_score, o.waiting_since or _EPOCH)
        for o in newcomers
    ]
    return [by_id[w.customer_id] for w in ordered(entries, order)]


def replay_assignment(outcomes: Iterable[Outcome], team: list[Advisor], candidate: RoutingPolicy) -> Simulation:
    """Replay advisor assignment under the candidate's shares: first everyone who leaves an advisor frees a place
    (a kept place is counted under the customer's tier now), then those who need a place take one in the
    candidate's waitlist order, least loaded first, while their tier is under its places; who finds none waits
    on robo_advisor."""
    outcomes = list(outcomes)
    places = places_by_tier(team, advisor_shares(candidate))
    by_id = {a.advisor_id: a for a in team}
    board = {a.advisor_id: replace(a, used_by_tier=dict(a.used_by_tier)) for a in team}

    def move(advisor_id: str, tier: str | None, step: int) -> None:
        advisor = board[advisor_id]
        used = dict(advisor.used_by_tier)
        if tier is not None:
            used[tier] = max(0, used.get(tier, 0) + step)
        board[advisor_id] = replace(advisor, load=max(0, advisor.load + step), used_by_tier=used)

    def keeps(o: Outcome) -> bool:
        return o.held is not None and o.target == Flow.PRIVATE_ADVISOR.value and eligible(by_id[o.held], o.profile)

    for o in outcomes:
        if o.held is not None and not keeps(o):
            move(o.held, o.held_tier, -1)
        elif o.held is not None and o.held_tier != o.tier:
            move(o.held, o.held_tier, -1)
            move(o.held, o.tier, +1)
    newcomers = [o for o in outcomes if o.target == Flow.PRIVATE_ADVISOR.value and not keeps(o)]
    order = candidate.waitlist_in_force().order
    final: dict[int, str] = {}
    waitlisted = 0
    for o in _queue(newcomers, order):
        tier = o.tier or "A"

        def room(advisor: Advisor, tier: str = tier, o: Outcome = o) -> bool:
            return room_for(advisor, tier, places.get(advisor.advisor_id, {}) if o.within_share else None)

        free = candidates(list(board.values()), o.profile, room)
        if free:
            move(free[0], tier, +1)
        else:
            final[id(o)] = Flow.ROBO_ADVISOR.value
            waitlisted += 1
    moves: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        moves[o.current][final.get(id(o), o.target)] += 1
    changed = sum(n for source, targets in moves.items() for target, n in targets.items() if source != target)
    return Simulation(
        customers=len(outcomes),
        changed=changed,
        moves={k: dict(v) for k, v in moves.items()},
        load_now={a.advisor_id: a.load for a in team},
        load_after={a.advisor_id: board[a.advisor_id].load for a in team},
        team=team,
        waitlist_after=waitlisted,
        places=places,
        used_after={a.advisor_id: {t: board[a.advisor_id].used(t) for t in TIERS} for a in team},
    )
