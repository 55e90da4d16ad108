"""A matured outcome window as a tierflow.outcome.v1 message (staged in the outbox by the caller)."""

from __future__ import annotations

from uuid import UUID

from tierflow_common.db.outbox import OutgoingMessage
from tierflow_common.events import OutcomeRecorded, encode_event
from tierflow_common.events.ids import derived_id
from tierflow_common.events.outcomes import BandMove, OutcomeRecordedPayload, WindowDays
from tierflow_common.events.outputs import ChurnBand, Flow, Tier
from tierflow_routing.domain.outcomes import Outcome, Window

SOURCE = "tierflow-routing"


def outcome_event_id(decision_id: str, window_days: int) -> UUID:
    """The same id whenever this window's outcome is published (a redelivery, a re-run, a replay)."""
    return derived_id("outcome", decision_id, window_days)


def outcome_message(window: Window, result: Outcome, *, topic: str) -> OutgoingMessage:
    """The message announcing a matured window's outcome; it occurred at the window's end."""
    base = window.baseline
    event = OutcomeRecorded(
        event_id=outcome_event_id(base.decision_id, window.window_days),
        occurred_at=window.due_at,
        source=SOURCE,
        customer_id=base.customer_id,
        payload=OutcomeRecordedPayload(
            decision_id=UUID(base.decision_id),
            decision_version=base.version,
            window_days=WindowDays(window.window_days),
            window_start=base.decided_at,
            window_end=window.due_at,
            flow=Flow(base.flow),
            tier=Tier(base.tier),
            churn_band=None if base.churn_band is None else ChurnBand(base.churn_band),
            experiment=None if base.experiment is None else base.experiment.contract(),
            superseded_at=window.superseded_at,
            superseded_by=None if window.superseded_by is None else UUID(window.superseded_by),
            traded_again=result.traded_again,
            logged_in=result.logged_in,
            kept_or_regained_tier=result.kept_or_regained_tier,
            became_dormant=result.became_dormant,
            closed=result.closed,
            churn_band_moved=None if result.churn_band_moved is None else BandMove(result.churn_band_moved),
            tier_at_end=None if result.tier_at_end is None else Tier(result.tier_at_end),
            churn_band_at_end=None if result.churn_band_at_end is None else ChurnBand(result.churn_band_at_end),
            net_inflow=result.net_inflow,
        ),
    )
    return OutgoingMessage(topic=topic, key=base.customer_id.encode(), value=encode_event(event))
