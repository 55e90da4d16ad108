"""The A-share trading calendar: which business days the exchanges trade, how many trading days lie between
two days, and which phase of the trading day a moment falls in. Pure, after loading.

The data is a shipped table (calendars/xshg.yaml), not a package: exchange-calendars' XSHG stops at the end
of 2026, and a brokerage needs next year's closures before next year starts. The test suite checks the table
against exchange-calendars for every year both cover (docs/calendar.md).

Days are the business day numbers of tierflow_common.calendar (days since 1970-01-01 in UTC+08:00), so a
trading-day count is two array lookups: `_before[d]` is the number of trading days before day d in the
covered range.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from importlib import resources
from itertools import pairwise
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tierflow_common.calendar import BUSINESS_TZ, day_date, day_of
from tierflow_common.exceptions import ConfigurationError
from tierflow_common.yaml_documents import parse_document

log = logging.getLogger(__name__)

_EPOCH = date(1970, 1, 1)


class Phase(StrEnum):
    """Where a moment falls in the trading day (`closed` on a day without trading, and outside the sessions)."""

    OPENING_AUCTION = "opening_auction"
    MORNING = "morning"
    LUNCH_BREAK = "lunch_break"
    AFTERNOON = "afternoon"
    CLOSING_AUCTION = "closing_auction"
    CLOSED = "closed"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarYear(_Strict):
    """One year's closures: the weekdays the exchanges do not trade."""

    closed: tuple[date, ...]
    source: str = Field(min_length=1, description="Where the dates come from.")
    provisional: bool = Field(default=False, description="Estimated before the exchanges published the year.")


class CalendarFile(_Strict):
    """calendars/xshg.yaml."""

    exchange: str
    timezone: str
    sessions: dict[Phase, tuple[time, time]]
    years: dict[int, CalendarYear] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _business_zone(cls, value: str) -> str:
        if value != "Asia/Shanghai":
            raise ValueError("the business days are Asia/Shanghai days (tierflow_common.calendar)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CalendarFile:
        if Phase.CLOSED in self.sessions:
            raise ValueError("sessions: `closed` is what the sessions leave out, not a session")
        spans = sorted(self.sessions.values())
        for start, end in spans:
            if not start < end:
                raise ValueError(f"sessions: {start:%H:%M}-{end:%H:%M} ends before it starts")
        for (_, end), (start, _) in pairwise(spans):
            if start < end:
                raise ValueError("sessions: two sessions overlap")
        years = sorted(self.years)
        if years != list(range(years[0], years[-1] + 1)):
            raise ValueError(f"years: a gap between {years[0]} and {years[-1]}")
        for year, entry in self.years.items():
            for day in entry.closed:
                if day.year != year:
                    raise ValueError(f"years.{year}.closed: {day} is not in {year}")
                if day.weekday() >= 5:
                    raise ValueError(f"years.{year}.closed: {day} is a weekend day, closed anyway")
            if len(set(entry.closed)) != len(entry.closed):
                raise ValueError(f"years.{year}.closed: a day listed twice")
        return self


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """Trading days over the covered years (whole calendar years, first to last), and the sessions."""

    exchange: str
    first_day: int  # business day number of 1 January of the first year
    last_day: int  # of 31 December of the last year
    _before: tuple[int, ...]  # trading days before each covered day (one more entry: the total)
    sessions: tuple[tuple[time, time, Phase], ...]
    provisional_years: tuple[int, ...]

    @classmethod
    def of(cls, document: CalendarFile) -> TradingCalendar:
        years = sorted(document.years)
        first = (date(years[0], 1, 1) - _EPOCH).days
        last = (date(years[-1], 12, 31) - _EPOCH).days
        closed = {(d - _EPOCH).days for entry in document.years.values() for d in entry.closed}
        before, count = [], 0
        for day in range(first, last + 1):
            before.append(count)
            if day_date(day).weekday() < 5 and day not in closed:
                count += 1
        before.append(count)
        sessions = tuple(sorted((start, end, phase) for phase, (start, end) in document.sessions.items()))
        provisional = tuple(y for y in years if document.years[y].provisional)
        return cls(document.exchange, first, last, tuple(before), sessions, provisional)

    @property
    def years(self) -> range:
        return range(day_date(self.first_day).year, day_date(self.last_day).year + 1)

    def covers(self, day: int) -> bool:
        return self.first_day <= day <= self.last_day

    def _index(self, day: int) -> int:
        if not self.covers(day):
            raise CalendarNotCovered(
                f"the {self.exchange} calendar covers {self.years.start}-{self.years.stop - 1}, not {day_date(day)}"
            )
        return day - self.first_day

    def is_trading_day(self, day: int) -> bool:
        """Whether the exchanges trade on this business day."""
        i = self._index(day)
        return self._before[i + 1] > self._before[i]

    def trading_days_between(self, start: int, end: int) -> int:
        """Trading days in (start, end]: how many trading days passed from `start` to `end` (0 when end <= start)."""
        if end <= start:
            return 0
        return self._before[self._index(end) + 1] - self._before[self._index(start) + 1]

    def phase(self, moment: datetime) -> Phase:
        """The phase of the trading day at `moment` (Asia/Shanghai time); `closed` on a day without trading."""
        if not self.is_trading_day(day_of(moment)):
            return Phase.CLOSED
        clock = moment.astimezone(BUSINESS_TZ).time().replace(tzinfo=None)
        i = bisect_left(self.sessions, (clock, time.max)) - 1
        if i >= 0:
            start, end, phase = self.sessions[i]
            if start <= clock < end:
                return phase
        return Phase.CLOSED


class CalendarNotCovered(ConfigurationError):
    """A day outside the calendar's years was asked about."""


DEFAULT_FILE = "calendars/xshg.yaml"


def parse_calendar(text: str, *, source: str) -> TradingCalendar:
    """The calendar in a YAML text; ConfigurationError naming `source` and the path of the first problem."""
    document = parse_document(text, CalendarFile, source=source, what="a trading calendar", error=ConfigurationError)
    return TradingCalendar.of(document)


def load_calendar(path: Path | None = None, *, today: date) -> TradingCalendar:
    """The shipped calendar (or the file at `path`), checked for service: it must cover `today`'s year and the
    next (ConfigurationError otherwise, so a service does not start on a calendar that runs out); a provisional
    year among them is logged as a warning."""
    if path is None:
        text = resources.files("tierflow_common").joinpath(DEFAULT_FILE).read_text()
        source = f"tierflow_common/{DEFAULT_FILE}"
    else:
        text, source = path.read_text(), str(path)
    calendar = parse_calendar(text, source=source)
    needed = (today.year, today.year + 1)
    missing = [year for year in needed if year not in calendar.years]
    if missing:
        raise ConfigurationError(
            f"{source}: the trading calendar covers {calendar.years.start}-{calendar.years.stop - 1}; "
            f"it must cover {needed[0]} and {needed[1]} (add the exchanges' closures, docs/calendar.md)"
        )
    provisional = [year for year in needed if year in calendar.provisional_years]
    if provisional:
        log.warning(
            "the trading calendar's closures are provisional (estimated, not yet published)",
            extra={"years": provisional, "calendar": source},
        )
    return calendar
