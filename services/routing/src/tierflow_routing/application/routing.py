"""Route one customer, in a straight line: decide, reserve a seat, settle, record.

Used by the worker (events, sweeper) and by the override use case, always inside one transaction
that also stages the decision's message in the outbox.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.outbox import OutboxTransaction
from tierflow_routing import metrics
from tierflow_routing.adapters import advisors
from tierflow_routing.adapters.decision_messages import decision_message
from tierflow_routing.domain.advisors import Advisor, SeatRequest, candidates, eligible
from tierflow_routing.domain.decision import seat_request, settle, wanted_outcome
from tierflow_routing.domain.experiments import next_boundary
from tierflow_routing.domain.facts import CustomerState, ProfileFacts
from tierflow_routing.domain.policy import RoutingPolicy
from tierflow_routing.domain.shares import advisor_shares, places_by_tier, room_for
from tierflow_routing.domain.waitlist import Waiting


async def route_customer(
    tx: OutboxTransaction,
    state: CustomerState,
    policy: RoutingPolicy,
    *,
    at: datetime,
    caused_by: str | None,
    topic: str,
) -> bool:
    """Decide the customer's route and record it in `state`; True when it is a new decision (staged to publish)."""
    if state.score.tier is None:
        return False  # nothing to route on until the first score
    conn = tx.connection
    # 1. Decide (pure): what the policy or an override wants, and what that asks of advisor capacity.
    wanted = wanted_outcome(state, policy, at)
    seat = seat_request(state, wanted)
    # 2. Reserve: take an advisor's place in the database (atomic, never over capacity or the tier's places).
    advisor_id = await reserve_seat(conn, seat, state.profile, advisor_shares(policy))
    # 3. Settle (pure): the route, robo_advisor while no advisor is free; news only when it changed.
    settled = settle(state, wanted, advisor_id=advisor_id, policy_version=policy.version, at=at, caused_by=caused_by)
    # 4. Record: the waitlist, the place given back (or counted under the new tier), the state, the message.
    await _record_waitlist(conn, state, seat, advisor_id, at)
    await _settle_place(conn, state, seat, settled.route.advisor_id)
    state.route = settled.route
    state.evaluated_at = at
    state.evaluated_policy = policy.version
    state.experiment_review_at = next_boundary(policy, at)
    if not settled.new:
        return False
    tx.add(decision_message(state, settled.route, topic=topic))
    metrics.DECISIONS.labels(settled.route.flow, settled.route.priority).inc()
    return True


async def reserve_seat(
    conn: AsyncConnection, seat: SeatRequest, profile: ProfileFacts, shares: dict[str, float]
) -> str | None:
    """The advisor whose place the customer takes: the one named by an override, the one held while still
    eligible, else the least loaded eligible advisor with room for the customer's tier (its places under the
    `shares`; a staff override bypasses them); None when no seat is needed or none is free."""
    if not seat.needed:
        return None
    if seat.named is not None:
        if seat.named == seat.held or await advisors.reserve(conn, seat.named, tier=seat.tier):
            return seat.named
    elif seat.held is not None:
        current = await advisors.get_advisor(conn, seat.held)
        if current is not None and eligible(current, profile):
            return seat.held
    pool = await advisors.team(conn, region=seat.region)
    places = places_by_tier(pool, shares)
    by_id = {a.advisor_id: a for a in pool}

    def tier_places(advisor: Advisor) -> int | None:
        return places[advisor.advisor_id][seat.tier] if seat.within_share else None

    def room(advisor: Advisor) -> bool:
        return room_for(advisor, seat.tier, places[advisor.advisor_id] if seat.within_share else None)

    for advisor_id in candidates(pool, profile, room):
        advisor = by_id[advisor_id]
        if advisor_id != seat.held and await advisors.reserve(
            conn, advisor_id, tier=seat.tier, places=tier_places(advisor), capacity=advisor.capacity
        ):
            return advisor_id
    return None


async def _settle_place(conn: AsyncConnection, state: CustomerState, seat: SeatRequest, kept: str | None) -> None:
    """Give back the place the customer no longer holds; count a place kept under their tier now."""
    if seat.held is not None and kept != seat.held:
        await advisors.release(conn, seat.held, tier=seat.held_tier or seat.tier)
    elif seat.held is not None and seat.held_tier is not None and seat.held_tier != seat.tier:
        await advisors.recount(conn, seat.held, from_tier=seat.held_tier, to_tier=seat.tier)
    state.advisor_tier = seat.tier if kept is not None else None


async def _record_waitlist(
    conn: AsyncConnection, state: CustomerState, seat: SeatRequest, advisor_id: str | None, at: datetime
) -> None:
    """Whoever has an advisor (or needs none) leaves the waitlist, so the sweeper stops offering them the
    places meant for those still waiting; whoever needs one and got none waits, keeping their place."""
    if advisor_id is not None or not seat.needed:
        if state.waitlisted_since is not None:  # the row and this field are written together: no row, no DELETE
            await advisors.leave_waitlist(conn, [state.customer_id])
            state.waitlisted_since = None
        return
    if state.waitlisted_since is None:
        state.waitlisted_since = at
    score, since = state.score, state.waitlisted_since
    entry = Waiting(state.customer_id, seat.region, seat.need, seat.tier, score.value_score, score.churn_score, since)
    await advisors.join_waitlist(conn, entry)


def snapshot(state: CustomerState) -> CustomerState:
    """A copy for the decision log (later events replace state.route, they never mutate it)."""
    return msgspec.structs.replace(state)
