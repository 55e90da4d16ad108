"""A routing decision as a tierflow.routing.v1 message (staged in the outbox by the caller)."""

from __future__ import annotations

from uuid import UUID

from tierflow_common.db.outbox import OutgoingMessage
from tierflow_common.events import RoutingDecided, encode_event
from tierflow_common.events.outputs import ChurnBand, Flow, Priority, Reason, RoutingDecidedPayload, Tier
from tierflow_routing.domain.facts import CustomerState, Route

SOURCE = "tierflow-routing"


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def decision_message(state: CustomerState, route: Route, *, topic: str) -> OutgoingMessage:
    """The message announcing `route`, the customer's new decision."""
    score = state.score
    decision_id = UUID(route.decision_id)
    event = RoutingDecided(
        event_id=decision_id,
        occurred_at=route.decided_at,
        source=SOURCE,
        customer_id=state.customer_id,
        payload=RoutingDecidedPayload(
            decision_id=decision_id,
            version=route.version,
            flow=Flow(route.flow),
            advisor_id=route.advisor_id,
            priority=Priority(route.priority),
            tier=Tier(score.tier or "C"),
            churn_band=None if score.churn_band is None else ChurnBand(score.churn_band),
            reasons=[Reason(code=c, contribution=w, detail=d) for c, w, d in route.reasons],
            policy_version=route.policy_version,
            decided_at=route.decided_at,
            supersedes=_uuid(route.supersedes),
            caused_by=_uuid(route.caused_by),
            active=route.active,
            rule=route.rule,
            experiment=None if route.experiment is None else route.experiment.contract(),
        ),
    )
    return OutgoingMessage(topic=topic, key=state.customer_id.encode(), value=encode_event(event))
