"""Cancellation rules: a new route, a returning customer, a withdrawn consent; what cancelling records. Pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, NotificationStatus, Priority
from tierflow_notification.domain.cancellation import (
    CONSENT_WITHDRAWN,
    CUSTOMER_RETURNED,
    ROUTE_CHANGED,
    cancel_steps,
    cancellation_reason,
    superseded,
    withdraws_marketing_consent,
)
from tierflow_notification.domain.governance import Contact
from tierflow_notification.domain.outreach import Decision, outcome_id
from tierflow_notification.domain.steps import StepChange, StepStatus, StoredStep

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
PLANNED = NOW - timedelta(days=2)
OLD_DECISION = uuid.uuid5(uuid.NAMESPACE_OID, "decision-1")
NEW_DECISION = uuid.uuid5(uuid.NAMESPACE_OID, "decision-2")
ALL_MARKETING = {"marketing_push": True, "marketing_sms": True, "marketing_email": True, "marketing_phone": True}
PUSH, SMS = NotificationChannel.PUSH, NotificationChannel.SMS


def stored(name: str = "reactivation.sms_day3", **overrides: Any) -> StoredStep:
    values: dict[str, Any] = {
        "step_id": uuid.uuid5(uuid.NAMESPACE_OID, name),
        "customer_id": "C1",
        "decision_id": OLD_DECISION,
        "flow": Flow.REACTIVATION,
        "name": name,
        "template": name,
        "channels": (SMS,),
        "message_class": MessageClass.MARKETING,
        "stop_when_active": True,
        "advisor_id": None,
        "priority": Priority.NORMAL,
        "task_due_days": 2.0,
        "planned_at": PLANNED,
        "first_due_at": PLANNED + timedelta(days=3),
        "due_at": PLANNED + timedelta(days=3),
        "status": StepStatus.PENDING,
        "attempts": 0,
        "channel": None,
    }
    values.update(overrides)
    return StoredStep(**values)


def decision(decision_id: uuid.UUID = NEW_DECISION) -> Decision:
    return Decision("C1", decision_id, 2, Flow.ROBO_ADVISOR, Priority.NORMAL, None, True)


def contact(**consents: bool) -> Contact:
    return Contact(customer_id="C1", consents={**ALL_MARKETING, **consents}, consents_as_of=NOW)


def reason(step: StoredStep, **given: Any) -> str | None:
    values: dict[str, Any] = {"new_decision": None, "returned_at": None, "withdrew_consent": False, "contact": None}
    values.update(given)
    return cancellation_reason(step, **values)


def test_a_newer_decision_cancels_the_steps_of_an_earlier_one_but_not_its_own() -> None:
    assert reason(stored(), new_decision=decision()) == ROUTE_CHANGED
    assert reason(stored(decision_id=NEW_DECISION), new_decision=decision()) is None
    assert reason(stored()) is None


def test_a_return_after_the_step_was_planned_cancels_only_steps_that_stop_on_return() -> None:
    assert reason(stored(), returned_at=PLANNED + timedelta(seconds=1)) == CUSTOMER_RETURNED
    assert reason(stored(), returned_at=PLANNED) is None  # not after: the step was planned knowing it
    assert reason(stored(), returned_at=PLANNED - timedelta(days=1)) is None
    assert reason(stored(stop_when_active=False), returned_at=NOW) is None


def test_a_withdrawn_consent_cancels_marketing_steps_with_no_consented_channel_left() -> None:
    assert reason(stored(), withdrew_consent=True, contact=contact(marketing_sms=False)) == CONSENT_WITHDRAWN
    # Another channel of the step is still consented: it stays.
    both = stored(channels=(SMS, PUSH))
    assert reason(both, withdrew_consent=True, contact=contact(marketing_sms=False)) is None
    # A service message needs no consent.
    service = stored(message_class=MessageClass.SERVICE)
    assert reason(service, withdrew_consent=True, contact=contact(marketing_sms=False)) is None
    # Only customers whose newest event withdrew something are looked at.
    assert reason(stored(), withdrew_consent=False, contact=contact(marketing_sms=False)) is None


def test_the_rules_apply_in_order_and_never_to_a_step_being_delivered() -> None:
    everything = {
        "new_decision": decision(),
        "returned_at": NOW,
        "withdrew_consent": True,
        "contact": contact(marketing_sms=False),
    }
    assert reason(stored(), **everything) == ROUTE_CHANGED
    assert reason(stored(), **{**everything, "new_decision": None}) == CUSTOMER_RETURNED
    assert reason(stored(), **{**everything, "new_decision": None, "returned_at": None}) == CONSENT_WITHDRAWN
    assert reason(stored(status=StepStatus.SENDING, channel=SMS), **everything) is None


def test_a_closed_account_or_any_marketing_consent_off_counts_as_a_withdrawal() -> None:
    assert not withdraws_marketing_consent(contact())
    assert withdraws_marketing_consent(contact(marketing_phone=False))
    assert withdraws_marketing_consent(Contact(customer_id="C1", consents=ALL_MARKETING, closed=True))
    assert withdraws_marketing_consent(Contact(customer_id="C1", consents={"marketing_push": True}))


def test_cancelling_records_a_suppression_under_a_derived_id_per_step() -> None:
    sms = stored("reactivation.sms_day3")
    call = stored("reactivation.call_day7", channels=(NotificationChannel.ADVISOR_TASK,), attempts=1, channel=PUSH)
    other = stored("community.invitation", customer_id="C2", stop_when_active=False)
    cancelled = cancel_steps(
        [sms, call, other],
        new_decisions={},
        active_at={"C1": NOW, "C2": NOW},
        withdrawn=set(),
        contacts={},
        now=NOW,
    )
    assert cancelled.changes == [
        StepChange(sms.step_id, NOW, status=StepStatus.CANCELLED, last_reason=CUSTOMER_RETURNED),
        StepChange(call.step_id, NOW, status=StepStatus.CANCELLED, last_reason=CUSTOMER_RETURNED),
    ]
    suppressed, returned = NotificationStatus.SUPPRESSED, CUSTOMER_RETURNED
    assert [(r.notification_id, r.step, r.channel, r.status, r.reason) for r in cancelled.records] == [
        (outcome_id(sms.step_id, "cancelled", 0, returned), sms, SMS, suppressed, returned),
        (outcome_id(call.step_id, "cancelled", 1, returned), call, PUSH, suppressed, returned),  # the channel it had
    ]


def test_a_step_due_again_is_superseded_when_the_customer_has_a_newer_decision() -> None:
    """The runner's check when a step comes due after a retry or a lapsed lease: the consumer passed
    over it while it was being delivered (`sending`), so a new route may have come meanwhile."""
    in_flight = stored(status=StepStatus.SENDING, attempts=1, channel=SMS)
    assert (
        cancellation_reason(in_flight, new_decision=None, returned_at=None, withdrew_consent=True, contact=None) is None
    )
    assert superseded(in_flight, NEW_DECISION)
    assert not superseded(in_flight, OLD_DECISION)
    assert not superseded(in_flight, None)  # no decision remembered: nothing to compare with
