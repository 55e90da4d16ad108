"""Exact sliding windows over business days, maintained incrementally.

A `DailySeries` keeps one vector of numbers per day and, for each trailing window (e.g. 7, 30 and
90 days), the running sum of the vectors inside it. Adding a value costs O(width x windows);
moving "today" forward subtracts exactly the buckets that leave each window, so every bucket is
added and removed once per window (amortised O(1) per event). A late value lands in its own day
and counts in a window only if that day is inside it. Days after today (a producer clock ahead)
count at once. Subclasses fix the windows, the zero of each component (hence the vector width) and
how long buckets are kept.

These are msgspec Structs: plain data with methods, stored as compact MessagePack. They hold
only numbers and lists (never cycles), so the garbage collector need not track them (gc=False).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

import msgspec

Number = int | Decimal


class DailySeries(msgspec.Struct, array_like=True, gc=False):
    """Per-day vectors (`days` sorted, `values` aligned) with running sums per window."""

    WINDOWS: ClassVar[tuple[int, ...]] = (30,)
    KEEP_DAYS: ClassVar[int] = 30
    ZEROS: ClassVar[tuple[Number, ...]] = (0,)
    """The zero of each component: Decimal for money, so sums stay Decimal even when empty."""

    today: int | None = None
    days: list[int] = []
    values: list[list[Number]] = []
    sums: list[list[Number]] = []

    def window_sums(self) -> list[list[Number]]:
        """The running sum of each window, in WINDOWS order."""
        if not self.sums:
            self.sums = [list(self.ZEROS) for _ in self.WINDOWS]
        return self.sums

    def advance(self, today: int) -> None:
        """Move the windows' end to `today` (never backwards), expiring buckets that fall out."""
        previous = self.today
        if previous is None:
            self.today = today
            return
        if today <= previous or not self.days:
            self.today = max(today, previous)
            return
        sums = self.window_sums()
        days, values = self.days, self.values
        for index, window in enumerate(self.WINDOWS):
            # A bucket leaves window w when today reaches day + w: days in (previous - w, today - w].
            low = bisect_right(days, previous - window)
            high = bisect_right(days, today - window)
            total = sums[index]
            for position in range(low, high):
                for i, value in enumerate(values[position]):
                    total[i] -= value
        self.today = today
        cut = bisect_right(days, today - self.KEEP_DAYS)
        if cut:
            del days[:cut]
            del values[:cut]

    def add(self, day: int, delta: Sequence[Number]) -> bool:
        """Add `delta` to day's bucket; False (nothing kept) when the day is older than every window."""
        today = self.today
        if today is None:
            self.today = today = day
        if day <= today - self.KEEP_DAYS:
            return False
        days = self.days
        position = bisect_left(days, day)
        if position < len(days) and days[position] == day:
            bucket = self.values[position]
            for i, value in enumerate(delta):
                bucket[i] += value
        else:
            days.insert(position, day)
            self.values.insert(position, list(delta))
        sums = self.window_sums()
        for index, window in enumerate(self.WINDOWS):
            if day > today - window:
                total = sums[index]
                for i, value in enumerate(delta):
                    total[i] += value
        return True

    def next_change_day(self) -> int | None:
        """The first day on which some bucket leaves some window (time alone changes a sum)."""
        if self.today is None or not self.days:
            return None
        best: int | None = None
        for window in self.WINDOWS:
            i = bisect_right(self.days, self.today - window)
            if i < len(self.days):
                candidate = self.days[i] + window
                best = candidate if best is None or candidate < best else best
        return best

    def sum_since(self, first_day: int, component: int) -> Number:
        """Sum of one component over buckets from `first_day` on (for calendar periods such as YTD)."""
        total: Number = self.ZEROS[component]
        for position in range(bisect_left(self.days, first_day), len(self.days)):
            total += self.values[position][component]
        return total


class TradeSeries(DailySeries, array_like=True, gc=False):
    """[trades, notional, commission] per day; 366 days kept so year-to-date survives a leap year."""

    WINDOWS = (30, 90, 365)
    KEEP_DAYS = 366
    ZEROS = (0, Decimal(0), Decimal(0))


LOGIN_CHANNELS = ("app", "web", "mini_program", "branch_terminal")


class LoginSeries(DailySeries, array_like=True, gc=False):
    """Successful logins per day and channel (LOGIN_CHANNELS order)."""

    WINDOWS = (7, 30, 90)
    KEEP_DAYS = 90
    ZEROS = (0,) * len(LOGIN_CHANNELS)


CONTACT_REASONS = ("inquiry", "complaint", "advisory", "campaign", "survey", "service")
CONTACT_OUTCOMES = ("reached", "no_answer", "resolved", "unresolved", "accepted", "declined")


class ContactSeries(DailySeries, array_like=True, gc=False):
    """Contacts per day by reason, then by outcome (CONTACT_REASONS + CONTACT_OUTCOMES order)."""

    WINDOWS = (90,)
    KEEP_DAYS = 90
    ZEROS = (0,) * (len(CONTACT_REASONS) + len(CONTACT_OUTCOMES))


class InflowSeries(DailySeries, array_like=True, gc=False):
    """Net inflow (transfers in minus out) per day."""

    WINDOWS = (30, 90)
    KEEP_DAYS = 90
    ZEROS = (Decimal(0),)


class LaggedValues(msgspec.Struct, array_like=True, gc=False):
    """Dated values (total assets per day) answering "what was it `lag` days ago?" exactly.

    Keeps the points the longest lag can reach: everything after today - max lag, plus the last
    point before it. Within one day the latest `as_of` wins (then the larger value).
    """

    LAGS: ClassVar[tuple[int, ...]] = (30, 90)

    days: list[int] = []
    as_of_us: list[int] = []
    values: list[Decimal] = []

    def put(self, day: int, as_of_us: int, value: Decimal) -> None:
        days = self.days
        position = bisect_left(days, day)
        if position < len(days) and days[position] == day:
            if (self.as_of_us[position], self.values[position]) >= (as_of_us, value):
                return
            self.as_of_us[position] = as_of_us
            self.values[position] = value
        else:
            days.insert(position, day)
            self.as_of_us.insert(position, as_of_us)
            self.values.insert(position, value)

    def at(self, today: int, lag: int) -> Decimal | None:
        """The value of the latest point on or before today - lag, if any."""
        i = bisect_right(self.days, today - lag)
        return None if i == 0 else self.values[i - 1]

    def prune(self, today: int) -> None:
        keep_from = bisect_right(self.days, today - max(self.LAGS)) - 1
        if keep_from > 0:
            del self.days[:keep_from]
            del self.as_of_us[:keep_from]
            del self.values[:keep_from]

    def next_change_day(self, today: int) -> int | None:
        """The first day after today on which some lagged answer changes."""
        best: int | None = None
        for lag in self.LAGS:
            i = bisect_right(self.days, today - lag)
            if i < len(self.days):
                candidate = self.days[i] + lag
                best = candidate if best is None or candidate < best else best
        return best
