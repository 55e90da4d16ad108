"""A clock the test sets: it stays where the test puts it (event times do not move it)."""

from __future__ import annotations

from collections.abc import Collection, Hashable
from datetime import datetime


class SetClock:
    """tierflow_common.clock.Clock at `moment`, which the test may move."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def observe(self, occurred_at: datetime, source: Hashable | None = None) -> None:
        return None

    def set_idle(self, source: Hashable, idle: bool) -> None:
        return None

    def assign(self, sources: Collection[Hashable]) -> None:
        return None
