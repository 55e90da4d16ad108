"""Routing one customer with the database at hand: rules, advisor capacity, waitlist, decision log.

Used by the worker (events, sweeper) and by the API (overrides), always inside one transaction
that also stages the decision's message in the outbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.outbox import OutboxTransaction, OutgoingMessage
from tierflow_common.events import RoutingDecided, encode_event
from tierflow_common.events.outputs import ChurnBand, Flow, Priority, Reason, RoutingDecidedPayload, Tier
from tierflow_routing import metrics
from tierflow_routing.adapters import advisors
from tierflow_routing.domain.decision import Wanted, candidates, eligible, need_level, settle, wanted_outcome
from tierflow_routing.domain.facts import CustomerState, Route
from tierflow_routing.domain.policy import RoutingPolicy

SOURCE = "tierflow-routing"


class RouteEngine:
    """Decides and records routes; returns whether a new decision was made."""

    def __init__(self, *, topic: str) -> None:
        self._topic = topic

    async def route(
        self,
        tx: OutboxTransaction,
        state: CustomerState,
        policy: RoutingPolicy,
        *,
        at: datetime,
        caused_by: str | None,
    ) -> bool:
        if state.score.tier is None:
            return False  # nothing to route on until the first score
        conn = tx.connection
        wanted = wanted_outcome(state, policy, at)
        previous = state.route
        held = _held_advisor(previous)
        advisor_id = await self._assign(conn, state, wanted, held, at)
        settled = settle(
            state, wanted, advisor_id=advisor_id, policy_version=policy.version, at=at, caused_by=caused_by
        )
        state.route = settled.route
        state.evaluated_at = at
        state.evaluated_policy = policy.version
        if held is not None and settled.route.advisor_id != held:
            await advisors.release(conn, held)
        if not settled.new:
            return False
        tx.add(self._message(state, settled.route))
        metrics.DECISIONS.labels(settled.route.flow, settled.route.priority).inc()
        return True

    async def _assign(
        self, conn: AsyncConnection, state: CustomerState, wanted: Wanted, held: str | None, at: datetime
    ) -> str | None:
        """The advisor for a private_advisor outcome: the one held (sticky), else the least loaded with room.

        Whoever ends up with an advisor (or needs none) leaves the waitlist; otherwise the sweeper
        would keep offering them the free places meant for the customers still waiting.
        """
        advisor_id = await self._pick(conn, state, wanted, held)
        if advisor_id is not None or wanted.flow is not Flow.PRIVATE_ADVISOR or not wanted.active:
            await advisors.leave_waitlist(conn, [state.customer_id])
            state.waitlisted_since = None
            return advisor_id
        # No room anywhere: robo-advisor for now, and a place in the queue (kept if already waiting).
        if state.waitlisted_since is None:
            state.waitlisted_since = at
        await advisors.join_waitlist(
            conn,
            customer_id=state.customer_id,
            region=state.profile.region,
            need=need_level(state.profile),
            at=state.waitlisted_since,
        )
        return None

    async def _pick(self, conn: AsyncConnection, state: CustomerState, wanted: Wanted, held: str | None) -> str | None:
        profile = state.profile
        if wanted.flow is not Flow.PRIVATE_ADVISOR or not wanted.active:
            return None
        if wanted.advisor_id is not None:  # a staff override names the advisor
            if wanted.advisor_id == held or await advisors.reserve(conn, wanted.advisor_id):
                return wanted.advisor_id
        elif held is not None:
            current = await advisors.get_advisor(conn, held)
            if current is not None and eligible(current, profile):
                return held
        pool = await advisors.eligible_pool(conn, region=profile.region, need=need_level(profile))
        for advisor_id in candidates(pool, profile):
            if advisor_id != held and await advisors.reserve(conn, advisor_id):
                return advisor_id
        return None

    def _message(self, state: CustomerState, route: Route) -> OutgoingMessage:
        score = state.score
        event = RoutingDecided(
            event_id=route.decision_id,  # type: ignore[arg-type]
            occurred_at=route.decided_at,
            source=SOURCE,
            customer_id=state.customer_id,
            payload=RoutingDecidedPayload(
                decision_id=route.decision_id,  # type: ignore[arg-type]
                version=route.version,
                flow=Flow(route.flow),
                advisor_id=route.advisor_id,
                priority=Priority(route.priority),
                tier=Tier(score.tier or "C"),
                churn_band=None if score.churn_band is None else ChurnBand(score.churn_band),
                reasons=[Reason(code=c, contribution=w, detail=d) for c, w, d in route.reasons],
                policy_version=route.policy_version,
                decided_at=route.decided_at,
                supersedes=route.supersedes,  # type: ignore[arg-type]
                caused_by=route.caused_by,  # type: ignore[arg-type]
                active=route.active,
                rule=route.rule,
            ),
        )
        return OutgoingMessage(topic=self._topic, key=state.customer_id.encode(), value=encode_event(event))


def _held_advisor(route: Route | None) -> str | None:
    """The advisor whose capacity the customer currently occupies."""
    if route is None or not route.active or route.flow != Flow.PRIVATE_ADVISOR.value:
        return None
    return route.advisor_id
