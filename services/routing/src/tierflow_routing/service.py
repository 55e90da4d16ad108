"""The routing worker: profile facts and scores in, decisions out; overrides expiring, waitlist promotions.

Inputs carry per-customer versions (profile version, score version): an older or repeated version
changes nothing, so redeliveries and duplicates are harmless without an inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.kafka.delivery import BatchOutcome, Delivery
from tierflow_routing.adapters import advisors, customers, overrides, routes
from tierflow_routing.application import outcomes
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.outcomes import Fact, OutcomeSettings
from tierflow_routing.application.routing import route_customer, snapshot
from tierflow_routing.domain.facts import CustomerState
from tierflow_routing.domain.policy import RoutingPolicy
from tierflow_routing.domain.shares import advisor_shares, places_by_tier
from tierflow_routing.domain.waitlist import ordered, promotions
from tierflow_routing.handlers import HANDLERS


class RoutingService:
    """Keeps each customer's facts and current route, logs every decision and publishes tierflow.routing.v1."""

    def __init__(self, ctx: RoutingContext, *, outcomes: OutcomeSettings, sweep_batch: int = 500) -> None:
        self._ctx = ctx
        self._outcomes = outcomes
        self._sweep_batch = sweep_batch
        # Waiting customers offered the current free places and not placed (e.g. no advisor speaks
        # their need): not offered again until the free capacity changes, so a sweep cannot spin.
        self._offered: set[str] = set()
        self._offered_room = -1
        self._cache_repairs: set[str] = set()

    async def start(self) -> None:
        """Install the shipped policy when none is active yet, and load the active one."""
        await self._ctx.policy.ensure()

    async def process(self, deliveries: Sequence[Delivery]) -> BatchOutcome:
        """Apply newer facts and scores in order; decide after each one that is news."""
        ctx = self._ctx
        policy = ctx.policy.current()
        async with ctx.outbox.transaction() as tx:
            stored = await customers.STORE.load_for_update(tx.connection, {d.event.customer_id for d in deliveries})
            touched: dict[str, CustomerState] = {}
            decided: list[CustomerState] = []
            facts: dict[str, list[Fact]] = {}
            stale: set[UUID] = set()
            for delivery in deliveries:
                event = delivery.event
                customer_id = event.customer_id
                state = touched.get(customer_id) or stored.get(customer_id) or CustomerState(customer_id=customer_id)
                touched[customer_id] = state
                prior, decided_at = outcomes.seen_after(state, event), outcomes.decided_at(state)
                at = HANDLERS[type(event)](state, event)
                if at is None:
                    stale.add(event.event_id)
                    continue
                seen = outcomes.seen_after(state, event)
                if seen is not None and outcomes.is_news(prior, seen, decided_at):
                    facts.setdefault(customer_id, []).append(seen)
                if state.evaluated_at is not None and at < state.evaluated_at:
                    at = state.evaluated_at
                if await route_customer(
                    tx, state, policy, at=at, caused_by=str(event.event_id), topic=ctx.decisions_topic
                ):
                    decided.append(snapshot(state))  # every decision goes to the log, even two in one batch
            await self._save(tx.connection, touched.values(), decided)
            await outcomes.record_batch(tx, decided=decided, facts=facts)
        if touched and ctx.policy.current().version != policy.version:
            # A new policy arrived while this batch decided under the old one. Its "everyone under another
            # version is due" ran on a snapshot that cannot see the customers this batch created: mark them.
            async with ctx.engine.begin() as conn:
                await customers.mark_due(conn, customer_ids=list(touched), at=ctx.clock.now())
        await self.refresh_cache(touched)
        return BatchOutcome(duplicates=stale)

    async def _save(
        self, conn: AsyncConnection, touched: Iterable[CustomerState], decided: list[CustomerState]
    ) -> None:
        states = list(touched)
        now = self._ctx.clock.now()
        await customers.STORE.save(conn, states, now=now)
        await routes.save_routes(conn, current=states, decided=decided, now=now)

    async def on_assigned(self) -> None:
        """Publish what an earlier owner of the partitions staged and did not send."""
        await self._ctx.outbox.recover()

    async def sweep_once(self) -> int:
        """Expire overrides, promote waitlisted customers, apply a new policy; publish staged API decisions."""
        ctx = self._ctx
        policy = ctx.policy.current()
        now = ctx.clock.now()
        await ctx.outbox.recover()  # decisions the API staged (overrides) go out from here
        async with ctx.outbox.transaction() as tx:
            conn = tx.connection
            await self._offer_free_places(conn, policy)
            due = await customers.STORE.due_for_review_for_update(conn, now=now, limit=self._sweep_batch)
            decided: list[CustomerState] = []
            for state in due:
                at = now
                if state.override is not None and state.override.expires_at <= now:
                    at = state.override.expires_at
                    await overrides.clear_override(
                        conn, customer_id=state.customer_id, actor="tierflow", reason="expired", at=at, action="expired"
                    )
                    state.override = None
                if await route_customer(tx, state, policy, at=at, caused_by=None, topic=ctx.decisions_topic):
                    decided.append(snapshot(state))
            await self._save(conn, due, decided)
            await outcomes.record_batch(tx, decided=decided, facts={})
        if due:
            await self.refresh_cache({s.customer_id: s for s in due})
        return len(due) + await self.mature_outcomes()

    async def mature_outcomes(self) -> int:
        """Mature the outcome windows that are due (one batch), publish them, count them once committed."""
        async with self._ctx.outbox.transaction() as tx:
            matured = await outcomes.mature_due(tx, settings=self._outcomes, now=self._ctx.clock.now())
        outcomes.count(matured)
        return len(matured)

    async def _offer_free_places(self, conn: AsyncConnection, policy: RoutingPolicy) -> None:
        """Waiting customers some advisor has room for (a free place, their tier under its share) become due, in
        the policy's waitlist order, one per free place."""
        room = await advisors.free_capacity(conn)
        if room != self._offered_room:
            self._offered, self._offered_room = set(), room
        if not room:
            return
        queue = ordered(await advisors.waiting(conn), policy.waitlist_in_force().order)
        if not queue:
            return
        team = await advisors.team(conn)
        places = places_by_tier(team, advisor_shares(policy))
        chosen = promotions(queue, team, places, limit=min(room, self._sweep_batch), skip=self._offered)
        # Due in queue order (the sweep takes the earliest due first), as early as the longest wait among them.
        first = min((entry.requested_at for entry in chosen), default=None)
        for rank, entry in enumerate(chosen):
            assert first is not None
            await customers.mark_due(conn, customer_ids=[entry.customer_id], at=first + timedelta(microseconds=rank))
            self._offered.add(entry.customer_id)

    async def refresh_cache(self, states: dict[str, CustomerState] | Iterable[str]) -> None:
        """Write these customers' current routes to Redis; remember failures for the repair task."""
        ids = set(states)
        if not ids:
            return
        async with self._ctx.engine.connect() as conn:
            current = await routes.get_routes(conn, customer_ids=ids)
        if await self._ctx.cache.put_many(current):
            self._cache_repairs -= ids
        else:
            self._cache_repairs |= ids

    async def repair_cache(self, stop: asyncio.Event) -> None:
        """Background task: rewrite routes whose cache write failed once Redis is back."""
        while not stop.is_set():
            if self._cache_repairs and self._ctx.cache.available:
                with contextlib.suppress(Exception):  # the database may be down too: try again later
                    await self.refresh_cache(list(self._cache_repairs)[:1000])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
