"""The one admission rule of the services that read input topics: windowed facts have a horizon, state
facts do not, and nothing may be dated far ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tierflow_common.admission import (
    REPLAY,
    AdmissionRule,
    FactKind,
    fact_kind,
    received_at,
    rejection,
    remembered_from,
)
from tierflow_testing import builders as b

NOW = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
RULE = AdmissionRule(horizon_days=400, future_tolerance=timedelta(days=1))


def test_events_beyond_the_late_horizon_or_far_ahead_are_refused_with_a_reason() -> None:
    assert rejection(b.trade("C1", NOW - timedelta(days=399)), NOW, RULE) is None
    assert "late-arrival horizon of 400 days" in str(rejection(b.trade("C1", NOW - timedelta(days=401)), NOW, RULE))
    assert "ahead of when it was produced" in str(rejection(b.trade("C1", NOW + timedelta(days=2)), NOW, RULE))
    assert rejection(b.trade("C1", NOW - timedelta(days=4000)), NOW, AdmissionRule(None, None)) is None  # rebuilds


def test_every_windowed_fact_has_the_horizon() -> None:
    ancient = NOW - timedelta(days=401)
    for event in (b.trade("C1", ancient), b.login("C1", ancient), b.login("C1", ancient, failed=True)):
        assert fact_kind(event) is FactKind.WINDOWED
        assert "late-arrival horizon" in str(rejection(event, NOW, RULE))
    assert "late-arrival horizon" in str(rejection(b.contact("C1", ancient), NOW, RULE))


def test_master_data_and_balances_are_state_never_too_old() -> None:
    three_years_ago = NOW - timedelta(days=3 * 365)
    master = b.customer("C1", three_years_ago)
    snapshot = b.balance("C1", "1000.00", three_years_ago)
    assert fact_kind(master) is fact_kind(snapshot) is FactKind.STATE
    assert rejection(master, NOW, RULE) is None
    assert rejection(snapshot, NOW, RULE) is None


def test_state_dated_far_ahead_is_refused_too() -> None:
    grant = b.customer("C1", NOW + timedelta(days=3 * 365))
    assert rejection(grant, NOW, RULE) == "occurred_at is more than 1 day, 0:00:00 ahead of when it was produced"
    # A snapshot sent now but "as of" years ahead would hold the current assets until then.
    ahead = b.balance("C1", "1000.00", NOW, as_of=NOW + timedelta(days=30))
    assert "payload.as_of is more than" in str(rejection(ahead, NOW, RULE))
    assert rejection(b.customer("C1", NOW + timedelta(hours=23)), NOW, RULE) is None  # within the tolerance


def test_tierflows_own_outputs_are_ordered_by_version_and_always_admitted() -> None:
    decision = b.routing_decided("C1", 3, "community", at=NOW - timedelta(days=4000))
    assert fact_kind(decision) is None
    assert rejection(decision, NOW, RULE) is None
    assert rejection(b.routing_decided("C1", 4, "community", at=NOW + timedelta(days=400)), NOW, RULE) is None


def test_a_replay_refuses_nothing() -> None:
    assert rejection(b.customer("C1", NOW + timedelta(days=4000)), NOW, REPLAY) is None
    assert rejection(b.trade("C1", NOW - timedelta(days=4000)), NOW, REPLAY) is None


def test_the_inbox_remembers_windowed_ids_by_event_time_and_state_ids_from_when_they_were_applied() -> None:
    late = NOW - timedelta(days=100)
    assert remembered_from(b.trade("C1", late), NOW) == late
    assert remembered_from(b.customer("C1", late), NOW) == NOW
    soon = NOW + timedelta(hours=2)
    assert remembered_from(b.customer("C1", soon), NOW) == soon


def test_an_event_is_judged_by_when_it_reached_tierflow_not_by_the_reading_service_s_clock() -> None:
    """The Kafka timestamp decides, so two services reading it at different times, or a service in event
    time (whose clock trails the events of a fast partition), reach the verdict live would."""
    produced = NOW + timedelta(days=30)  # a backfill produced later than a trailing event-time clock
    trade = b.trade("C1", produced - timedelta(hours=1))
    stamped = received_at(int(produced.timestamp() * 1000), fallback=NOW)
    assert stamped == produced and rejection(trade, stamped, RULE) is None
    assert rejection(trade, NOW, RULE) is not None  # what judging by the trailing clock refused
    assert received_at(0, fallback=NOW) == NOW and received_at(-1, fallback=NOW) == NOW
