"""Governance: consent, frequency cap, quiet hours across midnight and timezones, service bypass. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from tierflow_common.events.outputs import MessageClass, NotificationChannel
from tierflow_notification.domain.governance import Action, Contact, DueStep, govern, quiet_until
from tierflow_notification.domain.playbooks import FrequencyCap, Governance, QuietHours

PUSH, SMS, EMAIL = NotificationChannel.PUSH, NotificationChannel.SMS, NotificationChannel.EMAIL
RULES = Governance()
NOON_SHANGHAI = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
CONSENTS = {"marketing_push": True, "marketing_sms": True, "marketing_email": True, "marketing_phone": True}


def contact(**overrides: object) -> Contact:
    values: dict[str, object] = {
        "customer_id": "C1",
        "consents": CONSENTS,
        "consents_as_of": NOON_SHANGHAI - timedelta(days=30),
        "timezone": "Asia/Shanghai",
    }
    values.update(overrides)
    return Contact(**values)  # type: ignore[arg-type]


def step(*channels: NotificationChannel, service: bool = False, stop_when_active: bool = False) -> DueStep:
    return DueStep(
        channels=channels or (PUSH,),
        message_class=MessageClass.SERVICE if service else MessageClass.MARKETING,
        stop_when_active=stop_when_active,
        planned_at=NOON_SHANGHAI - timedelta(days=1),
        first_due_at=NOON_SHANGHAI,
    )


def verdict(s: DueStep, c: Contact | None, now: datetime = NOON_SHANGHAI, sent: list[datetime] | None = None):  # type: ignore[no-untyped-def]
    return govern(s, contact=c, now=now, marketing_sent=sent or [], rules=RULES)


def test_marketing_goes_out_on_the_first_channel_with_consent_and_records_the_evidence() -> None:
    v = verdict(step(PUSH, EMAIL), contact(consents={**CONSENTS, "marketing_push": False}))
    assert (v.action, v.channel, v.reason) == (Action.SEND, EMAIL, "delivered")
    assert v.evidence == {
        "purpose": "marketing_email",
        "granted": True,
        "as_of": (NOON_SHANGHAI - timedelta(days=30)).isoformat(),
        "known": True,
    }


def test_no_marketing_without_consent_on_any_of_the_steps_channels() -> None:
    v = verdict(step(PUSH, SMS), contact(consents={"marketing_email": True}))
    assert (v.action, v.reason) == (Action.SUPPRESS, "no_consent")
    assert v.evidence["granted"] is False


def test_an_unknown_customer_has_given_no_consent() -> None:
    v = verdict(step(PUSH), None)
    assert (v.action, v.reason, v.evidence["known"]) == (Action.SUPPRESS, "no_consent", False)


def test_a_closed_account_gets_nothing_not_even_service_messages() -> None:
    assert verdict(step(PUSH, service=True), contact(closed=True)).reason == "account_closed"


def test_a_step_that_stops_on_return_is_suppressed_once_the_customer_came_back() -> None:
    back = contact(last_active_at=NOON_SHANGHAI - timedelta(hours=1))
    assert verdict(step(PUSH, stop_when_active=True), back).reason == "customer_returned"
    before = contact(last_active_at=NOON_SHANGHAI - timedelta(days=2))  # before the step was planned
    assert verdict(step(PUSH, stop_when_active=True), before).action is Action.SEND


def test_quiet_hours_defer_marketing_to_the_end_of_the_night_in_the_customers_timezone() -> None:
    night = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai, 15:30 in London
    v = verdict(step(PUSH), contact(), now=night)
    assert (v.action, v.reason) == (Action.DEFER, "quiet_hours")
    assert v.until == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)  # 08:00 the next morning in Shanghai
    assert verdict(step(PUSH), contact(timezone="Europe/London"), now=night).action is Action.SEND


def test_quiet_hours_wrap_midnight_and_end_exactly_at_their_end() -> None:
    quiet = QuietHours(start=time(22, 0), end=time(8, 0))
    shanghai = "Asia/Shanghai"

    def at(local: str) -> datetime:  # a Shanghai wall-clock time on 2026-11-20 as UTC
        return datetime.fromisoformat(f"2026-11-20T{local}+08:00").astimezone(UTC)

    assert quiet_until(at("21:59"), shanghai, quiet) is None
    assert quiet_until(at("22:00"), shanghai, quiet) == datetime.fromisoformat("2026-11-21T08:00+08:00")
    assert quiet_until(at("02:00"), shanghai, quiet) == datetime.fromisoformat("2026-11-20T08:00+08:00")
    assert quiet_until(at("08:00"), shanghai, quiet) is None
    daytime = QuietHours(start=time(12, 0), end=time(14, 0))  # a window that does not cross midnight
    assert quiet_until(at("13:00"), shanghai, daytime) == datetime.fromisoformat("2026-11-20T14:00+08:00")
    assert quiet_until(at("23:00"), shanghai, daytime) is None


def test_quiet_hours_do_not_hold_an_advisor_task() -> None:
    night = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    v = verdict(step(NotificationChannel.ADVISOR_TASK), contact(), now=night)
    assert (v.action, v.channel) == (Action.SEND, NotificationChannel.ADVISOR_TASK)


def test_the_frequency_cap_defers_until_a_slot_frees_then_drops_when_that_is_too_late() -> None:
    sent = [NOON_SHANGHAI - timedelta(days=d) for d in (6, 3, 1)]  # three in the last 7 days
    v = verdict(step(PUSH), contact(), sent=sent)
    assert (v.action, v.reason, v.until) == (Action.DEFER, "frequency_cap", NOON_SHANGHAI + timedelta(days=1))
    older = [NOON_SHANGHAI - timedelta(days=d) for d in (8, 3, 1)]  # one left the window: a slot is free
    assert verdict(step(PUSH), contact(), sent=older).action is Action.SEND
    strict = Governance(frequency_cap=FrequencyCap(max_messages=3, per_days=7, give_up_after_days=0.5))
    dropped = govern(step(PUSH), contact=contact(), now=NOON_SHANGHAI, marketing_sent=sent, rules=strict)
    assert (dropped.action, dropped.reason) == (Action.SUPPRESS, "frequency_cap")
    drop_rule = Governance(frequency_cap=FrequencyCap(over_cap="drop"))
    assert govern(step(PUSH), contact=contact(), now=NOON_SHANGHAI, marketing_sent=sent, rules=drop_rule).action is (
        Action.SUPPRESS
    )


def test_service_messages_bypass_consent_caps_and_quiet_hours() -> None:
    night = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    sent = [night - timedelta(hours=h) for h in (1, 2, 3, 4)]
    v = verdict(step(SMS, service=True), contact(consents={}), now=night, sent=sent)
    assert (v.action, v.channel, v.reason) == (Action.SEND, SMS, "service_message")
