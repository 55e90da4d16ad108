"""Where "now" comes from: wall time live, the highest event time seen in replay and simulation."""

from __future__ import annotations

from collections.abc import Collection, Hashable
from datetime import UTC, datetime
from typing import Protocol

from tierflow_common.config import ClockMode

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    """A source of the current time; `observe` feeds it each event's time."""

    def now(self) -> datetime: ...

    def observe(self, occurred_at: datetime, source: Hashable | None = None) -> None: ...

    def set_idle(self, source: Hashable, idle: bool) -> None: ...

    def assign(self, sources: Collection[Hashable]) -> None: ...


class WallClock:
    """Live mode: now is the machine's UTC time; event times do not move it."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def observe(self, occurred_at: datetime, source: Hashable | None = None) -> None:
        return None

    def set_idle(self, source: Hashable, idle: bool) -> None:
        return None

    def assign(self, sources: Collection[Hashable]) -> None:
        return None


class EventTimeClock:
    """Replay mode: now is event time, so a replay decides as the live run did.

    Without sources, now is the highest `occurred_at` seen. With sources (the consumer loop passes
    each message's topic and partition), now is the low watermark: the earliest of the highest
    times seen per source, so a partition that is read faster does not pull time ahead of a slower
    one; a source that has caught up with the end of its partition does not hold time back. Now
    never moves backwards.

    The consumer loop also says which sources the process owns (`assign`, at every rebalance): an
    owned source not seen yet holds time where it is until its first message arrives or it is found
    at its end. Without this, a process restarted mid-stream would let time run to the earliest of
    the partitions that happened to deliver first, ahead of the messages still waiting in the others,
    and its sweeper would decide what live had decided later (a replay would then differ).
    """

    def __init__(self, start: datetime = EPOCH) -> None:
        self._now = start
        self._highest: dict[Hashable, datetime] = {}
        self._idle: set[Hashable] = set()
        self._unseen: set[Hashable] = set()

    def now(self) -> datetime:
        # Computed when asked (after a whole batch was observed), so the first source seen does not
        # pull time ahead of the others in the same batch.
        self._recompute()
        return self._now

    def observe(self, occurred_at: datetime, source: Hashable | None = None) -> None:
        if source is None:
            self._advance(occurred_at.astimezone(UTC))
            return
        held = self._highest.get(source)
        if held is None or occurred_at > held:
            self._highest[source] = occurred_at.astimezone(UTC)
        self._idle.discard(source)
        self._unseen.discard(source)

    def set_idle(self, source: Hashable, idle: bool) -> None:
        if idle:
            self._idle.add(source)
            self._unseen.discard(source)
        else:
            self._idle.discard(source)

    def assign(self, sources: Collection[Hashable]) -> None:
        """The sources this process owns now: others are forgotten, new ones hold time until seen."""
        owned = set(sources)
        self._highest = {s: t for s, t in self._highest.items() if s in owned}
        self._idle &= owned
        self._unseen = owned - set(self._highest) - self._idle

    def _recompute(self) -> None:
        if not self._highest or self._unseen:
            return
        active = [t for s, t in self._highest.items() if s not in self._idle]
        self._advance(min(active) if active else max(self._highest.values()))

    def _advance(self, moment: datetime) -> None:
        if moment > self._now:
            self._now = moment


def make_clock(mode: ClockMode) -> Clock:
    """The clock a service runs on, from its settings."""
    return EventTimeClock() if mode == "event" else WallClock()


class AcceleratedClock:
    """Wall time sped up `speed` times from the moment it is made (tests and demos of day-long timers).

    With speed 8640, a day passes in ten seconds: a three-day delay is due thirty seconds later, and
    quiet hours and frequency windows pass just as fast. Event times do not move it.
    """

    def __init__(self, speed: float, *, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._start = start or datetime.now(UTC)
        self._real_start = datetime.now(UTC)

    def now(self) -> datetime:
        return self._start + (datetime.now(UTC) - self._real_start) * self._speed

    def observe(self, occurred_at: datetime, source: Hashable | None = None) -> None:
        return None

    def set_idle(self, source: Hashable, idle: bool) -> None:
        return None

    def assign(self, sources: Collection[Hashable]) -> None:
        return None


def zone_where_it_is(hour: int, now: datetime | None = None) -> str:
    """A fixed-offset IANA zone (Etc/GMT±N) whose local time is about `hour` o'clock `now`.

    For tests and benchmarks that must not depend on the time of day they run at (quiet hours).
    """
    offset = hour - (now or datetime.now(UTC)).hour
    offset = offset - 24 if offset > 14 else offset + 24 if offset < -12 else offset
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-8 is UTC+8
