"""Order-independent "in a row" counts, and the most recent few answers, by event time."""

from __future__ import annotations

from bisect import insort

import msgspec

MAX_TRACKED = 64


class Streak(msgspec.Struct, array_like=True, gc=False):
    """Bad events after the latest good event, whatever order the events arrive in.

    Only the bad events after the latest good one are kept (the newest MAX_TRACKED), so the state
    stays small; a longer streak reads as MAX_TRACKED.
    """

    last_good_us: int | None = None
    bad_after: list[int] = []  # epoch µs, sorted

    def good(self, at_us: int) -> None:
        if self.last_good_us is None or at_us > self.last_good_us:
            self.last_good_us = at_us
            self.bad_after = [t for t in self.bad_after if t > at_us]

    def bad(self, at_us: int) -> None:
        if self.last_good_us is not None and at_us <= self.last_good_us:
            return
        insort(self.bad_after, at_us)
        if len(self.bad_after) > MAX_TRACKED:
            del self.bad_after[0]

    @property
    def count(self) -> int:
        return len(self.bad_after)


class RecentValues(msgspec.Struct, array_like=True, gc=False):
    """The five most recent (time, value) pairs by event time, e.g. NPS answers."""

    SIZE = 5

    items: list[tuple[int, int]] = []  # (epoch µs, value), oldest first

    def add(self, at_us: int, value: int) -> None:
        insort(self.items, (at_us, value))
        if len(self.items) > self.SIZE:
            del self.items[0]

    @property
    def latest(self) -> int | None:
        return self.items[-1][1] if self.items else None

    @property
    def mean(self) -> float | None:
        return round(sum(v for _, v in self.items) / len(self.items), 2) if self.items else None
