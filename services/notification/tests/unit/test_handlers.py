"""HANDLERS: every event type the service consumes folds into the batch's plan. Pure."""

from __future__ import annotations

from datetime import timedelta

from tierflow_common.events.envelope import EVENT_MODELS, EVENT_TOPIC, RoutingDecided
from tierflow_notification.bootstrap import SUBSCRIBED
from tierflow_notification.domain.governance import Contact
from tierflow_notification.handlers import HANDLERS, decision_of, plan_batch
from tierflow_testing import builders as b

T0 = b.T0
CONSENTS = {"marketing_push": True, "marketing_sms": False, "data_for_advice": True}


def test_every_event_type_on_the_subscribed_topics_has_exactly_one_handler() -> None:
    consumed = {model for model in EVENT_MODELS if EVENT_TOPIC[model.model_fields["event_type"].default] in SUBSCRIBED}
    assert set(HANDLERS) == consumed


def test_the_newest_customer_event_per_customer_becomes_its_contact_the_later_one_on_a_tie() -> None:
    older = b.customer("C2", T0 - timedelta(hours=1), consents={"marketing_push": True})
    newest = b.customer("C2", T0, consents=CONSENTS, timezone="Europe/Paris")
    tie = b.customer("C1", T0, closed=True)
    plan = plan_batch([newest, older, b.customer("C1", T0), tie])
    assert plan.contacts() == [
        Contact(
            customer_id="C1",
            consents=tie.payload.consents.model_dump(),
            consents_as_of=T0,
            timezone="Asia/Shanghai",
            closed=True,
        ),
        Contact(
            customer_id="C2", consents=newest.payload.consents.model_dump(), consents_as_of=T0, timezone="Europe/Paris"
        ),
    ]


def test_trades_and_logins_count_as_activity_at_the_latest_time_failed_logins_not_at_all() -> None:
    later = T0 + timedelta(hours=2)
    plan = plan_batch(
        [
            b.login("C1", later),
            b.trade("C1", T0),
            b.trade("C2", T0),
            b.login("C3", later, failed=True),
        ]
    )
    assert plan.active_at == {"C1": later, "C2": T0}
    assert plan.customers == {} and plan.decisions == {}


def test_the_decision_with_the_highest_version_per_customer_plans_the_first_one_on_a_tie() -> None:
    v2 = b.routing_decided("C1", 2, "robo_advisor")
    v1 = b.routing_decided("C1", 1, "reactivation")
    other = b.routing_decided("C2", 1, "private_advisor", advisor_id="ADV1")
    plan = plan_batch([v2, other, v1, b.routing_decided("C1", 2, "community")])
    assert plan.decisions == {"C1": decision_of(v2), "C2": decision_of(other)}
    assert list(plan.decisions) == ["C1", "C2"]  # in order of first appearance


def test_a_decision_is_read_from_the_routing_event() -> None:
    event: RoutingDecided = b.routing_decided("C1", 3, "private_advisor", priority="urgent", advisor_id="ADV9")
    decision = decision_of(event)
    assert (decision.customer_id, decision.decision_id, decision.version) == ("C1", event.payload.decision_id, 3)
    assert (decision.flow, decision.priority, decision.advisor_id, decision.active) == (
        event.payload.flow,
        event.payload.priority,
        "ADV9",
        event.payload.active,
    )
