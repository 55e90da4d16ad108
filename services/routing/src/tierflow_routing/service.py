"""The routing worker: profile facts and scores in, decisions out; overrides expiring, waitlist promotions.

Inputs carry per-customer versions (profile version, score version): an older or repeated version
changes nothing, so redeliveries and duplicates are harmless without an inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.db.outbox import Outbox
from tierflow_common.events import ProfileUpdated, ScoreChanged, Topics
from tierflow_common.events.topics import ROUTING
from tierflow_common.kafka.delivery import BatchOutcome, Delivery
from tierflow_routing.adapters import advisors, overrides, repository
from tierflow_routing.adapters.route_cache import RouteCache
from tierflow_routing.domain.facts import CustomerState, ProfileFacts, ScoreFacts
from tierflow_routing.engine import RouteEngine
from tierflow_routing.policy_store import ActivePolicy
from tierflow_routing.schemas import RouteRead

DIGITAL_CHANNELS = ("app", "web", "mini_program")


def profile_facts(event: ProfileUpdated) -> ProfileFacts:
    p = event.payload
    by_channel = {c.value: v for c, v in p.engagement.by_channel.items()}
    accepted = sum(n for outcome, n in p.engagement.contacts_90d_by_outcome.items() if outcome.value == "accepted")
    return ProfileFacts(
        profile_version=p.version,
        age_band=None if p.master.age_band is None else p.master.age_band.value,
        investor_type=None if p.master.investor_type is None else p.master.investor_type.value,
        risk_level=None if p.master.risk_level is None else p.master.risk_level.value,
        region=p.master.region,
        consents=p.master.consents.model_dump(),
        closed=p.master.closed,
        digital_logins_30d=sum(by_channel[c].logins_30d for c in DIGITAL_CHANNELS if c in by_channel),
        branch_logins_30d=by_channel["branch_terminal"].logins_30d if "branch_terminal" in by_channel else 0,
        community_accepted_90d=accepted,
        total_assets=p.assets.total_assets,
        commission_12m=p.contribution.commission_12m,
        trades_90d=p.trading.trades_90d,
        last_trade_at=p.trading.last_trade_at,
        last_login_at=p.engagement.last_login_at,
        computed_at=p.computed_at,
    )


def score_facts(event: ScoreChanged) -> ScoreFacts:
    s = event.payload
    return ScoreFacts(
        score_version=s.version,
        tier=s.tier.value,
        churn_band=None if s.churn_band is None else s.churn_band.value,
        churn_score=s.churn_score,
        p_alive=s.p_alive,
        value_score=s.value_score,
        signals=list(s.signals),
        reasons=[(r.code, r.contribution, r.detail) for r in s.reasons],
        churn_reasons=[(r.code, r.contribution, r.detail) for r in s.churn_reasons],
        policy_version=s.policy_version,
        model_version=s.model_version,
        decided_at=s.decided_at,
        event_id=str(event.event_id),
    )


class RoutingService:
    """Keeps each customer's facts and current route, logs every decision and publishes tierflow.routing.v1."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        outbox: Outbox,
        cache: RouteCache,
        topics: Topics,
        clock: Clock,
        policy: ActivePolicy,
        sweep_batch: int = 500,
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._cache = cache
        self._clock = clock
        self._policy = policy
        self._routes = RouteEngine(topic=topics.name(ROUTING))
        self._sweep_batch = sweep_batch
        # Waiting customers offered the current free places and not placed (e.g. no advisor speaks
        # their need): not offered again until the free capacity changes, so a sweep cannot spin.
        self._offered: set[str] = set()
        self._offered_room = -1
        self._cache_repairs: set[str] = set()

    async def start(self) -> None:
        await self._policy.ensure()

    async def process(self, deliveries: Sequence[Delivery]) -> BatchOutcome:
        """Apply newer facts and scores in order; decide after each one that is news."""
        policy = self._policy.current()
        ids = {d.event.customer_id for d in deliveries}
        async with self._outbox.transaction() as tx:
            stored = await repository.load_for_update(tx.connection, customer_ids=ids)
            touched: dict[str, CustomerState] = {}
            decided: list[CustomerState] = []
            stale: set[object] = set()
            for delivery in deliveries:
                event = delivery.event
                customer_id = event.customer_id
                state = touched.get(customer_id) or stored.get(customer_id) or CustomerState(customer_id=customer_id)
                touched[customer_id] = state
                if isinstance(event, ProfileUpdated):
                    if event.payload.version <= state.profile.profile_version:
                        stale.add(event.event_id)
                        continue
                    state.profile = profile_facts(event)
                    at = event.payload.computed_at
                elif isinstance(event, ScoreChanged):
                    if event.payload.version <= state.score.score_version:
                        stale.add(event.event_id)
                        continue
                    state.score = score_facts(event)
                    at = event.payload.decided_at
                else:
                    continue
                if state.evaluated_at is not None and at < state.evaluated_at:
                    at = state.evaluated_at
                if await self._routes.route(tx, state, policy, at=at, caused_by=str(event.event_id)):
                    decided.append(_frozen(state))  # every decision goes to the log, even two in one batch
            await self._save(tx.connection, touched.values(), decided)
        await self.refresh_cache(touched)
        return BatchOutcome(duplicates=stale)  # type: ignore[arg-type]

    async def _save(self, conn, touched: Iterable[CustomerState], decided: Iterable[CustomerState]) -> None:  # type: ignore[no-untyped-def]
        states = list(touched)
        now = self._clock.now()
        await repository.save_states(conn, states=states, now=now)
        await repository.save_routes(conn, current=states, decided=list(decided), now=now)

    async def on_assigned(self) -> None:
        await self._outbox.recover()

    async def sweep_once(self) -> int:
        """Expire overrides, promote waitlisted customers, apply a new policy; publish staged API decisions."""
        policy = self._policy.current()
        now = self._clock.now()
        await self._outbox.recover()  # decisions the API staged (overrides) go out from here
        async with self._outbox.transaction() as tx:
            conn = tx.connection
            room = await advisors.free_capacity(conn)
            if room != self._offered_room:
                self._offered, self._offered_room = set(), room
            if room:
                places = min(room, self._sweep_batch)
                waiting = await advisors.oldest_waiting(conn, limit=places + len(self._offered))
                for customer_id, requested_at in [w for w in waiting if w[0] not in self._offered][:places]:
                    await repository.mark_due(conn, customer_ids=[customer_id], at=requested_at)
                    self._offered.add(customer_id)
            due = await repository.due_for_review_for_update(conn, now=now, limit=self._sweep_batch)
            decided: list[CustomerState] = []
            for state in due:
                at = now
                if state.override is not None and state.override.expires_at <= now:
                    at = state.override.expires_at
                    await overrides.clear_override(
                        conn, customer_id=state.customer_id, actor="tierflow", reason="expired", at=at, action="expired"
                    )
                    state.override = None
                if await self._routes.route(tx, state, policy, at=at, caused_by=None):
                    decided.append(_frozen(state))
            await self._save(conn, due, decided)
        if due:
            await self.refresh_cache({s.customer_id: s for s in due})
        return len(due)

    async def refresh_cache(self, states: dict[str, CustomerState] | Iterable[str]) -> None:
        """Write these customers' current routes to Redis; remember failures for the repair task."""
        ids = set(states)
        if not ids:
            return
        async with self._engine.connect() as conn:
            rows = await repository.get_routes(conn, customer_ids=ids)
        views = [RouteRead.from_row(r) for r in rows]
        if await self._cache.put_many(views):
            self._cache_repairs -= ids
        else:
            self._cache_repairs |= ids

    async def repair_cache(self, stop: asyncio.Event) -> None:
        """Background task: rewrite routes whose cache write failed once Redis is back."""
        while not stop.is_set():
            if self._cache_repairs and self._cache.available:
                with contextlib.suppress(Exception):  # the database may be down too: try again later
                    await self.refresh_cache(list(self._cache_repairs)[:1000])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)


def _frozen(state: CustomerState) -> CustomerState:
    """A copy for the decision log (later events replace state.route, they never mutate it)."""
    return msgspec.structs.replace(state)
