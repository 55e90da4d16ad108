"""The scoring batch handler: every profile version in order, catch up on time, publish changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tierflow_common.clock import Clock
from tierflow_common.db.inbox import claim_fresh
from tierflow_common.db.outbox import Outbox, OutboxTransaction, OutgoingMessage
from tierflow_common.events import ProfileUpdated, ScoreChanged, Topics, encode_event
from tierflow_common.events.ids import derived_id
from tierflow_common.events.outputs import ChurnBand, PendingDemotion, ScoreChangedPayload, Tier
from tierflow_common.events.topics import SCORE
from tierflow_common.kafka.delivery import BatchOutcome, Delivery
from tierflow_scoring import metrics
from tierflow_scoring.adapters import repository
from tierflow_scoring.domain.inputs import ScoringInputs
from tierflow_scoring.domain.score import Published, ScoreState, apply_profile, catch_up, reasons_of
from tierflow_scoring.rules import ActiveRules

SOURCE = "tierflow-scoring"


def inputs_from_profile(event: ProfileUpdated) -> ScoringInputs:
    """The scoring inputs carried by a published profile."""
    p = event.payload
    repeat = p.repeat_trading
    reasons = p.engagement.contacts_90d_by_reason
    return ScoringInputs(
        profile_version=p.version,
        computed_at=p.computed_at,
        first_seen_at=p.first_seen_at,
        total_assets=p.assets.total_assets,
        total_assets_90d_ago=p.assets.total_assets_90d_ago,
        net_inflow_90d=p.assets.net_inflow_90d,
        commission_12m=p.contribution.commission_12m,
        notional_365d=p.trading.notional_365d,
        trades_30d=p.trading.trades_30d,
        trades_90d=p.trading.trades_90d,
        trades_365d=p.trading.trades_365d,
        active_days_90d=p.trading.active_days_90d,
        first_trade_at=p.trading.first_trade_at,
        last_trade_at=p.trading.last_trade_at,
        last_login_at=p.engagement.last_login_at,
        complaints_open=p.engagement.complaints_open,
        complaints_90d=sum(n for reason, n in reasons.items() if reason.value == "complaint"),
        last_nps=p.engagement.last_nps,
        unanswered_outbound_streak=p.engagement.unanswered_outbound_streak,
        repeat_x=None if repeat is None else repeat.x,
        repeat_t_x=None if repeat is None else repeat.t_x,
        closed=p.master.closed,
    )


class ScoringService:
    """Keeps a tier and a churn band per customer and publishes tierflow.score.v1 when either changes."""

    def __init__(self, *, outbox: Outbox, topics: Topics, clock: Clock, rules: ActiveRules, sweep_batch: int = 500):
        self._outbox = outbox
        self._topic = topics.name(SCORE)
        self._clock = clock
        self._rules = rules
        self._sweep_batch = sweep_batch

    async def start(self) -> None:
        await self._rules.ensure()

    async def process(self, deliveries: Sequence[Delivery]) -> BatchOutcome:
        """Apply every new profile version in order (no coalescing: replays must decide as live did)."""
        policy, model = self._rules.current()
        async with self._outbox.transaction() as tx:
            fresh, duplicates = await claim_fresh(tx.connection, deliveries)
            profiles = [e for e in fresh if isinstance(e, ProfileUpdated)]
            if not profiles:
                return BatchOutcome(duplicates=duplicates)
            stored = await repository.load_for_update(tx.connection, customer_ids={e.customer_id for e in profiles})
            touched: dict[str, ScoreState] = {}
            for event in profiles:
                customer_id = event.customer_id
                state = touched.get(customer_id) or stored.get(customer_id) or ScoreState(customer_id=customer_id)
                touched[customer_id] = state
                for change in apply_profile(state, inputs_from_profile(event), policy, model):
                    self._publish(tx, change, event.event_id if change.caused_by_profile else None)
            await repository.save(tx.connection, states=list(touched.values()), now=self._clock.now())
        return BatchOutcome(duplicates=duplicates)

    async def on_assigned(self) -> None:
        await self._outbox.recover()

    async def sweep_once(self) -> int:
        """Apply the time-driven reviews that are due (dormancy, demotions, churn bands); return how many."""
        policy, model = self._rules.current()
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            due = await repository.due_for_review_for_update(tx.connection, now=now, limit=self._sweep_batch)
            for state in due:
                for change in catch_up(state, policy, model, now):
                    self._publish(tx, change, None)
                if state.next_review_at is not None and state.next_review_at <= now:
                    state.next_review_at = None  # nothing left to review (guards against a stuck row)
            await repository.save(tx.connection, states=due, now=now)
        return len(due)

    def _publish(self, tx: OutboxTransaction, change: Published, caused_by: object) -> None:
        tx.add(self._message(change, caused_by))
        state = change.state
        metrics.count_change(
            None if change.previous_tier is None else change.previous_tier.value,
            state.tier or "none",
            None if change.previous_band is None else change.previous_band.value,
            state.churn_band or "none",
        )

    def _message(self, change: Published, caused_by: object) -> OutgoingMessage:
        state = change.state
        assert state.tier and state.tier_since and state.decided_at and state.inputs and state.churn_band
        pending = state.pending
        event = ScoreChanged(
            event_id=derived_id("score", state.customer_id, state.version),
            occurred_at=state.decided_at,
            source=SOURCE,
            customer_id=state.customer_id,
            payload=ScoreChangedPayload(
                version=state.version,
                profile_version=state.inputs.profile_version,
                tier=Tier(state.tier),
                previous_tier=change.previous_tier,
                tier_since=state.tier_since,
                value_score=state.value_score,
                p_alive=state.p_alive,
                churn_score=state.churn_score,
                churn_band=ChurnBand(state.churn_band),
                previous_churn_band=change.previous_band,
                reasons=reasons_of(state.reasons),
                churn_reasons=reasons_of(state.churn_reasons),
                signals=state.signals,
                pending_demotion=None
                if pending is None
                else PendingDemotion(
                    tier=Tier(pending[0]), cause=pending[1], since=pending[2], effective_at=pending[3]
                ),
                closed=state.closed,
                policy_version=state.policy_version,
                model_version=state.model_version,
                decided_at=state.decided_at,
                next_review_at=state.next_review_at,
                caused_by=caused_by,  # type: ignore[arg-type]
            ),
        )
        return OutgoingMessage(topic=self._topic, key=state.customer_id.encode(), value=encode_event(event))


def _pending(pending: tuple[str, str, datetime, datetime]) -> PendingDemotion:
    tier, cause, since, effective_at = pending
    return PendingDemotion(tier=Tier(tier), cause=cause, since=since, effective_at=effective_at)
