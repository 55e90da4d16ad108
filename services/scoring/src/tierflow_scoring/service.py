"""The scoring batch processor: every profile version in order, catch up on time, publish changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from uuid import UUID

from tierflow_common.clock import Clock
from tierflow_common.db.inbox import claim_fresh
from tierflow_common.db.outbox import Outbox, OutboxTransaction, OutgoingMessage
from tierflow_common.events import ScoreChanged, Topics, encode_event
from tierflow_common.events.ids import derived_id
from tierflow_common.events.outputs import ChurnBand, PendingDemotion, ScoreChangedPayload, Tier
from tierflow_common.events.topics import SCORE
from tierflow_common.kafka.delivery import BatchOutcome, Delivery
from tierflow_scoring import metrics
from tierflow_scoring.adapters import observations, scores
from tierflow_scoring.application.rules import ActiveRules
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.observations import churned_at, observe
from tierflow_scoring.domain.policy import TierPolicy
from tierflow_scoring.domain.score import Published, ScoreState, catch_up, reasons_of
from tierflow_scoring.handlers import HANDLERS, ScoringBatch

SOURCE = "tierflow-scoring"


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
        """Apply every new event in order (no coalescing: replays must decide as live did)."""
        policy, model = self._rules.current()
        async with self._outbox.transaction() as tx:
            claim = await claim_fresh(tx.connection, deliveries)
            outcome = BatchOutcome(duplicates=claim.duplicates, conflicts=claim.conflicts)
            if not claim.fresh:
                return outcome
            stored = await scores.STORE.load_for_update(tx.connection, {e.customer_id for e in claim.fresh})
            churned: list[tuple[str, datetime]] = []
            batch = ScoringBatch(policy=policy, model=model, stored=stored, publish=partial(self._publish, tx, churned))
            for event in claim.fresh:
                HANDLERS[type(event)](batch, event)
            await self._observe(tx, batch.touched.values(), churned, policy, model)
            await scores.save_decided(tx.connection, states=batch.touched.values(), now=self._clock.now())
        now_policy, now_model = self._rules.current()
        if batch.touched and (now_policy.version, now_model.version) != (policy.version, model.version):
            # New rules arrived while this batch scored under the old ones; their "everyone scored under other
            # versions is due" could not see the customers this batch created: mark them.
            async with self._outbox.transaction() as tx:
                await scores.mark_due(tx.connection, customer_ids=list(batch.touched), at=self._clock.now())
        return outcome

    async def on_assigned(self) -> None:
        await self._outbox.recover()

    async def sweep_once(self) -> int:
        """Apply the time-driven reviews that are due (dormancy, demotions, churn bands); return how many."""
        policy, model = self._rules.current()
        now = self._clock.now()
        async with self._outbox.transaction() as tx:
            due = await scores.STORE.due_for_review_for_update(tx.connection, now=now, limit=self._sweep_batch)
            churned: list[tuple[str, datetime]] = []
            for state in due:
                for change in catch_up(state, policy, model, now):
                    self._publish(tx, churned, change, None)
                if state.next_review_at is not None and state.next_review_at <= now:
                    state.next_review_at = None  # nothing left to review (guards against a stuck row)
            await self._observe(tx, due, churned, policy, model)
            await scores.save_decided(tx.connection, states=due, now=now)
        return len(due)

    @staticmethod
    async def _observe(
        tx: OutboxTransaction,
        states: Iterable[ScoreState],
        churned: list[tuple[str, datetime]],
        policy: TierPolicy,
        model: ChurnModel,
    ) -> None:
        """Record the month's churn observations of the customers just evaluated; label those who churned."""
        due = [o for o in (observe(s, policy.churn, model) for s in states) if o is not None]
        await observations.record(tx.connection, observations=due)
        await observations.label_churned(tx.connection, churned=churned)

    def _publish(
        self, tx: OutboxTransaction, churned: list[tuple[str, datetime]], change: Published, caused_by: UUID | None
    ) -> None:
        tx.add(self._message(change, caused_by))
        moment = churned_at(change)
        if moment is not None:
            churned.append((change.state.customer_id, moment))
        state = change.state
        metrics.count_change(
            None if change.previous_tier is None else change.previous_tier.value,
            state.tier or "none",
            None if change.previous_band is None else change.previous_band.value,
            state.churn_band or "none",
        )

    def _message(self, change: Published, caused_by: UUID | None) -> OutgoingMessage:
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
                caused_by=caused_by,
            ),
        )
        return OutgoingMessage(topic=self._topic, key=state.customer_id.encode(), value=encode_event(event))
