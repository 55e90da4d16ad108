"""What a candidate routing policy would do to the current population, without applying anything."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.events.outputs import Flow
from tierflow_routing.adapters import advisors as advisor_store
from tierflow_routing.adapters.repository import decode_state
from tierflow_routing.domain.decision import Advisor, candidates, eligible, wanted_outcome
from tierflow_routing.domain.facts import ProfileFacts
from tierflow_routing.domain.policy import RoutingPolicy


@dataclass
class Simulation:
    customers: int
    changed: int
    moves: dict[str, dict[str, int]]
    load_now: dict[str, int]
    load_after: dict[str, int]
    team: list[Advisor]
    waitlist_after: int


async def simulate(conn: AsyncConnection, candidate: RoutingPolicy, *, now: datetime) -> Simulation:
    """Evaluate `candidate` for every routed customer, then replay advisor assignment on the result."""
    team = [
        Advisor(a.advisor_id, a.region, a.capacity, a.licence_level, a.load, a.active)
        for a in await advisor_store.list_advisors(conn)
    ]
    load = {a.advisor_id: a.load for a in team}
    by_id = {a.advisor_id: a for a in team}
    outcomes: list[tuple[str, str | None, str, ProfileFacts]] = []  # current flow, held advisor, wanted flow, facts
    result = await conn.stream(text("SELECT state FROM customers"))
    async for (raw,) in result:
        state = decode_state(raw)
        if state.score.tier is None:
            continue
        route = state.route
        current = "none" if route is None else route.flow
        held = route.advisor_id if route and route.active and route.flow == Flow.PRIVATE_ADVISOR.value else None
        wanted = wanted_outcome(state, candidate, now)
        outcomes.append((current, held, wanted.flow.value if wanted.active else current, state.profile))
    # First everyone who leaves an advisor frees a place, then newcomers take places, least loaded first.
    for _, held, target, profile in outcomes:
        if held is not None and (target != Flow.PRIVATE_ADVISOR.value or not eligible(by_id[held], profile)):
            load[held] = max(0, load[held] - 1)
    moves: dict[str, Counter[str]] = defaultdict(Counter)
    waitlisted = 0
    for current, held, target, profile in outcomes:
        final = target
        if target == Flow.PRIVATE_ADVISOR.value and not (held is not None and eligible(by_id[held], profile)):
            pool = [
                Advisor(a.advisor_id, a.region, a.capacity, a.licence_level, load[a.advisor_id], a.active) for a in team
            ]
            free = candidates(pool, profile)
            if free:
                load[free[0]] += 1
            else:
                final = Flow.ROBO_ADVISOR.value
                waitlisted += 1
        moves[current][final] += 1
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
