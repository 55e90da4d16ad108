"""The A-share trading calendar: the shipped table against exchange-calendars, trading-day counts across the
Spring Festival, the phases of the trading day, and a calendar refused when it runs out or is malformed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import exchange_calendars
import pytest

from tierflow_common.exceptions import ConfigurationError
from tierflow_common.trading_calendar import CalendarNotCovered, Phase, load_calendar, parse_calendar

SHIPPED = load_calendar(today=date(2026, 12, 1))
SHANGHAI_NOON = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # a Tuesday, 12:00 in Shanghai
FILE = Path(__file__).parents[2] / "src" / "tierflow_common" / "calendars" / "xshg.yaml"


def day(text: str) -> int:
    return (date.fromisoformat(text) - date(1970, 1, 1)).days


def test_the_shipped_table_agrees_with_exchange_calendars_on_every_day_both_cover() -> None:
    xshg = exchange_calendars.get_calendar("XSHG")
    both = [y for y in SHIPPED.years if xshg.first_session.year <= y <= xshg.last_session.year]
    assert both == [2024, 2025, 2026]
    for year in both:
        sessions = {s.date() for s in xshg.sessions_in_range(f"{year}-01-01", f"{year}-12-31")}
        for n in range((date(year, 12, 31) - date(year, 1, 1)).days + 1):
            today = date(year, 1, 1) + timedelta(days=n)
            assert SHIPPED.is_trading_day(day(today.isoformat())) == (today in sessions), today


def test_the_shipped_table_covers_this_year_and_next_and_says_which_year_is_an_estimate() -> None:
    assert list(SHIPPED.years) == [2024, 2025, 2026, 2027] and SHIPPED.provisional_years == (2027,)
    # The estimate keeps the published pattern: the exchanges close from the eve to the seventh day of the new
    # year (2027: Fri 5 Feb to Fri 12 Feb) and the first week of October.
    assert [SHIPPED.is_trading_day(day(f"2027-02-{d:02d}")) for d in range(4, 16)] == [
        True, False, False, False, False, False, False, False, False, False, False, True,
    ]  # fmt: skip


def test_a_week_of_closed_markets_over_the_spring_festival_is_one_trading_day() -> None:
    # Last trade on Fri 13 Feb 2026, the day before the holiday; the market reopens on Tue 24 Feb.
    assert SHIPPED.trading_days_between(day("2026-02-13"), day("2026-02-24")) == 1
    assert SHIPPED.trading_days_between(day("2026-02-13"), day("2026-02-23")) == 0  # 10 calendar days, 0 trading
    assert SHIPPED.trading_days_between(day("2026-02-24"), day("2026-02-13")) == 0
    # An ordinary month: November 2026 has 30 days, 9 of them weekend days, and no holiday.
    assert SHIPPED.trading_days_between(day("2026-10-31"), day("2026-11-30")) == 21
    assert SHIPPED.trading_days_between(day("2025-12-31"), day("2026-12-31")) == 261 - 19  # weekdays - closures


@pytest.mark.parametrize(
    ("local", "phase"),
    [
        ("09:14", Phase.CLOSED),
        ("09:15", Phase.OPENING_AUCTION),
        ("09:29", Phase.OPENING_AUCTION),
        ("09:30", Phase.MORNING),
        ("11:29", Phase.MORNING),
        ("11:30", Phase.LUNCH_BREAK),
        ("12:59", Phase.LUNCH_BREAK),
        ("13:00", Phase.AFTERNOON),
        ("14:57", Phase.CLOSING_AUCTION),
        ("15:00", Phase.CLOSED),
        ("22:00", Phase.CLOSED),
    ],
)
def test_the_phases_of_a_trading_day_in_shanghai_time(local: str, phase: Phase) -> None:
    hours, minutes = map(int, local.split(":"))
    moment = datetime(2026, 12, 1, hours, minutes, tzinfo=UTC) - timedelta(hours=8)
    assert SHIPPED.phase(moment) is phase


def test_a_holiday_and_a_weekend_are_closed_all_day() -> None:
    assert SHIPPED.phase(datetime(2026, 10, 5, 2, 0, tzinfo=UTC)) is Phase.CLOSED  # National Day, 10:00 local
    assert SHIPPED.phase(datetime(2026, 12, 5, 2, 0, tzinfo=UTC)) is Phase.CLOSED  # a Saturday
    assert SHIPPED.phase(SHANGHAI_NOON) is Phase.LUNCH_BREAK


def test_a_day_outside_the_calendar_is_refused_not_guessed() -> None:
    with pytest.raises(CalendarNotCovered, match="covers 2024-2027, not 2028-01-03"):
        SHIPPED.is_trading_day(day("2028-01-03"))


def test_start_up_refuses_a_calendar_that_does_not_cover_this_year_and_next(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="covers 2024-2027; it must cover 2027 and 2028"):
        load_calendar(today=date(2027, 3, 1))
    shortened = tmp_path / "xshg.yaml"
    text = FILE.read_text()
    shortened.write_text(text[: text.index("  2027:")])
    with pytest.raises(ConfigurationError, match="covers 2024-2026; it must cover 2026 and 2027"):
        load_calendar(shortened, today=date(2026, 12, 1))


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("2026-01-02,", "2026-01-03,"), "years.2026: Value error, years.2026.closed: 2026-01-03 is a weekend day"),
        (("2026-01-02,", "2025-01-02,"), "2025-01-02 is not in 2026"),
        (("2026-01-02,", "2026-01-01,"), "a day listed twice"),
        (('afternoon: ["13:00", "14:57"]', 'afternoon: ["11:00", "14:57"]'), "two sessions overlap"),
        (("timezone: Asia/Shanghai", "timezone: UTC"), "timezone: Value error, the business days are Asia/Shanghai"),
        (("  2025:\n", "  2025x:\n"), "years.2025x"),
    ],
)
def test_a_malformed_calendar_is_refused_with_the_path_of_the_problem(change: tuple[str, str], says: str) -> None:
    old, new = change
    text = FILE.read_text()
    assert old in text
    with pytest.raises(ConfigurationError) as refused:
        parse_calendar(text.replace(old, new, 1), source="xshg.yaml")
    assert str(refused.value).startswith("xshg.yaml: ") and says.split(", ")[-1] in str(refused.value), str(
        refused.value
    )
