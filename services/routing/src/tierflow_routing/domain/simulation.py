"""What a candidate routing policy would do to the current population, pure: nothing is applied."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from tierflow_common.events.outputs import Flow
from tierflow_routing.domain.advisors import Advisor, candidates, eligible, held_advisor
from tierflow_routing.domain.decision import wanted_outcome
from tierflow_routing.domain.facts import CustomerState, ProfileFacts
from tierflow_routing.domain.policy import RoutingPolicy


@dataclass(frozen=True, slots=True)
class Outcome:
    """One routed customer under the candidate: where they are, the advisor they hold, where they would go."""

    current: str
    held: str | None
    target: str
    profile: ProfileFacts


@dataclass
class Simulation:
    customers: int
    changed: int
    moves: dict[str, dict[str, int]]
    load_now: dict[str, int]
    load_after: dict[str, int]
    team: list[Advisor] = field(default_factory=list)
    waitlist_after: int = 0


def outcome(state: CustomerState, candidate: RoutingPolicy, now: datetime) -> Outcome | None:
    """Where the candidate would send a customer (None for a customer not yet scored)."""
    if state.score.tier is None:
        return None
    route = state.route
    current = "none" if route is None else route.flow
    wanted = wanted_outcome(state, candidate, now)
    return Outcome(current, held_advisor(route), wanted.flow.value if wanted.active else current, state.profile)


def replay_assignment(outcomes: Iterable[Outcome], team: list[Advisor]) -> Simulation:
    """Replay advisor assignment: first everyone who leaves an advisor frees a place, then newcomers take
    places, least loaded first; who finds none waits on robo_advisor."""
    outcomes = list(outcomes)
    load = {a.advisor_id: a.load for a in team}
    by_id = {a.advisor_id: a for a in team}
    for o in outcomes:
        if o.held is not None and (o.target != Flow.PRIVATE_ADVISOR.value or not eligible(by_id[o.held], o.profile)):
            load[o.held] = max(0, load[o.held] - 1)
    moves: dict[str, Counter[str]] = defaultdict(Counter)
    waitlisted = 0
    for o in outcomes:
        final = o.target
        if o.target == Flow.PRIVATE_ADVISOR.value and not (o.held is not None and eligible(by_id[o.held], o.profile)):
            free = candidates([replace(a, load=load[a.advisor_id]) for a in team], o.profile)
            if free:
                load[free[0]] += 1
            else:
                final = Flow.ROBO_ADVISOR.value
                waitlisted += 1
        moves[o.current][final] += 1
    changed = sum(n for source, targets in moves.items() for target, n in targets.items() if source != target)
    return Simulation(
        customers=len(outcomes),
        changed=changed,
        moves={k: dict(v) for k, v in moves.items()},
        load_now={a.advisor_id: a.load for a in team},
        load_after=load,
        team=team,
        waitlist_after=waitlisted,
    )
