"""Business days as integers: days since 1970-01-01 in the brokerage's time zone (UTC+08:00).

China has kept UTC+08:00 all year since 1991, so a fixed offset is exact and much cheaper than a
zone lookup per event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

BUSINESS_OFFSET_S = 8 * 3600
BUSINESS_TZ = timezone(timedelta(seconds=BUSINESS_OFFSET_S), "Asia/Shanghai")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)


def day_of(moment: datetime) -> int:
    """The business day a moment falls on."""
    return int((moment.timestamp() + BUSINESS_OFFSET_S) // 86400)


def day_start(day: int) -> datetime:
    """The first instant of a business day (aware, in the business time zone)."""
    return datetime.fromtimestamp(day * 86400 - BUSINESS_OFFSET_S, BUSINESS_TZ)


def day_date(day: int) -> date:
    """The calendar date of a business day."""
    return _EPOCH_DATE + timedelta(days=day)


def year_start(day: int) -> int:
    """The first business day of the calendar year containing `day`."""
    return (date(day_date(day).year, 1, 1) - _EPOCH_DATE).days


def next_year_start(day: int) -> int:
    """The first business day of the following calendar year."""
    return (date(day_date(day).year + 1, 1, 1) - _EPOCH_DATE).days
