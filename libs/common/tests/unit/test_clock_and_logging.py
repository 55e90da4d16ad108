"""The clock (wall time live, event time in replay) and the JSON log format."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import orjson

from tierflow_common.clock import EPOCH, EventTimeClock, WallClock, make_clock
from tierflow_common.logging import JsonFormatter


def test_event_time_is_the_highest_time_seen_and_never_goes_back() -> None:
    clock = EventTimeClock()
    t1 = datetime(2026, 1, 1, tzinfo=UTC)
    clock.observe(t1)
    clock.observe(t1 - timedelta(days=3))  # a late event
    assert clock.now() == t1
    clock.observe(t1 + timedelta(hours=1))
    assert clock.now() == t1 + timedelta(hours=1)


def test_wall_clock_ignores_event_times() -> None:
    clock = WallClock()
    clock.observe(datetime(2000, 1, 1, tzinfo=UTC))
    assert clock.now().year >= 2026
    assert isinstance(make_clock("event"), EventTimeClock)
    assert isinstance(make_clock("wall"), WallClock)


def test_log_lines_are_json_with_fields_and_redact_personal_keys() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "event processed", None, None)
    record.event_id = "e-1"
    record.phone = "13800138000"
    line = orjson.loads(JsonFormatter("profile").format(record))
    assert line["msg"] == "event processed"
    assert line["service"] == "profile"
    assert line["event_id"] == "e-1"
    assert line["phone"] == "[redacted]"


def test_with_sources_event_time_is_the_low_watermark_and_caught_up_sources_do_not_hold_it() -> None:
    clock = EventTimeClock()
    t = datetime(2026, 1, 1, tzinfo=UTC)
    clock.observe(t + timedelta(days=10), ("profile", 0))  # a fast partition
    clock.observe(t + timedelta(days=2), ("profile", 1))  # a slow one
    assert clock.now() == t + timedelta(days=2)
    clock.observe(t + timedelta(days=5), ("profile", 1))
    assert clock.now() == t + timedelta(days=5)
    clock.set_idle(("profile", 1), True)  # partition 1 has nothing more to give
    assert clock.now() == t + timedelta(days=10)
    clock.observe(t + timedelta(days=6), ("profile", 1))  # new data there: time does not go back
    assert clock.now() == t + timedelta(days=10)


def test_an_owned_partition_not_seen_yet_holds_event_time_until_its_first_message_or_its_end() -> None:
    clock = EventTimeClock()
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    clock.assign([("profile", 0), ("profile", 1)])
    clock.observe(t0 + timedelta(days=5), ("profile", 0))
    assert clock.now() == EPOCH  # partition 1 may still hold older messages: time waits
    clock.observe(t0, ("profile", 1))
    assert clock.now() == t0
    clock.assign([("profile", 0), ("profile", 1), ("profile", 2)])  # a rebalance adds partition 2
    clock.observe(t0 + timedelta(days=6), ("profile", 1))
    assert clock.now() == t0  # held where it was
    clock.set_idle(("profile", 2), True)  # found at its end: it has nothing older to give
    assert clock.now() == t0 + timedelta(days=5)
    clock.assign([("profile", 1)])  # partitions 0 and 2 revoked: forgotten
    assert clock.now() == t0 + timedelta(days=6)
