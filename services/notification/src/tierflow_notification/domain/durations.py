"""ISO 8601 durations (`P1M`, `P2W`, `P1Y6M`, `P3DT12H`) and calendar arithmetic with them. Pure.

A duration keeps its calendar parts apart: a month is a calendar month (31 January + P1M is
28 or 29 February, the day clamped to the month's last), not 30 days, so a monthly step stays on
its day of the month. `add(moment, duration, times=k)` adds k periods in one go from the same
moment, so clamping in a short month does not drift the later ones (31 Jan + 2 x P1M is 31 March).
Weeks, days and the time part are exact spans. Negative and fractional parts are not accepted.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
# The mean Gregorian year and month, for comparing durations (a window within its period).
DAYS_PER_YEAR = 365.2425
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class DurationError(ValueError):
    """Not an ISO 8601 duration this module reads."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar duration: whole years and months, plus an exact span (weeks, days, hours...)."""

    months: int = 0  # years are kept as 12 months
    span: timedelta = timedelta(0)
    text: str = ""

    @property
    def nominal_days(self) -> float:
        """Its length in days with mean months (for comparisons only, never for scheduling)."""
        return self.months * DAYS_PER_MONTH + self.span.total_seconds() / 86_400

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=256)
def parse_duration(text: str) -> Duration:
    """`PnYnMnWnDTnHnMnS` (every part optional, at least one given) as a Duration; DurationError otherwise."""
    match = _PATTERN.match(text.strip())
    if match is None:
        raise DurationError(f"not an ISO 8601 duration (like P1M, P2W, P1Y, P10D): {text!r}")
    part = {name: int(value) if value else 0 for name, value in match.groupdict().items()}
    span = timedelta(
        weeks=part["weeks"], days=part["days"], hours=part["hours"], minutes=part["minutes"], seconds=part["seconds"]
    )
    duration = Duration(months=part["years"] * 12 + part["months"], span=span, text=text.strip())
    if duration.nominal_days <= 0:
        raise DurationError(f"a duration must be longer than zero: {text!r}")
    return duration


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole calendar months, the day clamped to the last of a shorter month."""
    year, month = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    month += 1
    # calendar.monthrange would do, at three times the cost (the planner calls this for every occurrence).
    last = 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, last))


def add(moment: datetime, duration: Duration, times: int = 1) -> datetime:
    """`moment` plus `times` periods of `duration`, computed from `moment` (no drift from clamped days)."""
    moved = add_months(moment, duration.months * times) if duration.months else moment
    return moved + duration.span * times if duration.span else moved
