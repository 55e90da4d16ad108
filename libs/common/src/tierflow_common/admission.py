"""Which input events a service accepts: one rule for every service that reads the input topics.

Profile and notification both read integrators' topics; they apply this rule to every event before
they claim it, so the two never disagree about one event. Pure: the event, now and the rule in, a
reason (or None) out.

- **Windowed facts** (`trade.executed`, `login.succeeded`, `login.failed`, `contact.logged`) count in
  windows of days. One older than the late-arrival horizon (default 400 days, longer than every
  window) is refused: it would count nowhere, and `tierflow profile rebuild` (no horizon) replays it.
- **State facts** (`customer.updated`, `balance.snapshot`) say what is true from a moment on. They are
  never too old: the newest wins whatever its age (`customer.updated` by `occurred_at`,
  `balance.snapshot` by `payload.as_of`, ties broken by event id), and an older one changes nothing
  (it is applied as history, not refused, never an error). A backfill of the customer master from
  years ago therefore gives established customers their consents, risk level and age band.
- **Every fact** dated more than the future tolerance (default one day) after it reached tierflow is
  refused: such a date would sit in every window until that day, and as the newest state it would
  lock master data or the consent projection against every real change until then. For a balance
  snapshot both `occurred_at` and `as_of` are checked.

"Reached tierflow" is the Kafka record's timestamp (the producer's send time, or the broker's append
time on a topic set to LogAppendTime), not the reading service's clock. Every service reading the
message sees the same timestamp, so profile and notification reach the same verdict on it even when
they read it minutes apart, and a replay or a service running in event time (whose clock follows the
events, partition by partition) judges it as live did. A message without a timestamp is judged
against the service's clock.
- Tierflow's own outputs (profiles, scores, decisions, notification records) are ordered by their
  per-customer versions, not by time; the rule admits them.

A refused event is dead-lettered by the consumer loop (kind `rejected`, with the reason); it is not
applied and not recorded in the inbox, so it locks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from tierflow_common.events.envelope import (
    BalanceSnapshot,
    ContactLogged,
    CustomerUpdated,
    Envelope,
    LoginFailed,
    LoginSucceeded,
    TradeExecuted,
)

if TYPE_CHECKING:
    from tierflow_common.config import AdmissionSettings


class FactKind(StrEnum):
    """How time bounds an input event: windowed facts have a horizon, state facts do not."""

    WINDOWED = "windowed"
    STATE = "state"


FACT_KINDS: Final[dict[type[Envelope], FactKind]] = {
    TradeExecuted: FactKind.WINDOWED,
    LoginSucceeded: FactKind.WINDOWED,
    LoginFailed: FactKind.WINDOWED,
    ContactLogged: FactKind.WINDOWED,
    CustomerUpdated: FactKind.STATE,
    BalanceSnapshot: FactKind.STATE,
}
"""Every input event type (tierflow's own outputs are not facts of either kind)."""


@dataclass(frozen=True, slots=True)
class AdmissionRule:
    """The late-arrival horizon (windowed facts) and the future tolerance (every fact); None disables a check."""

    horizon_days: int | None = 400
    future_tolerance: timedelta | None = timedelta(days=1)


REPLAY: Final = AdmissionRule(horizon_days=None, future_tolerance=None)
"""A rebuild replays history in event time: nothing is late, and nothing is ahead of its own clock."""


def admission_rule(settings: AdmissionSettings) -> AdmissionRule:
    """The rule from the shared settings (TIERFLOW_LATE_HORIZON_DAYS, TIERFLOW_FUTURE_TOLERANCE_S)."""
    tolerance = settings.future_tolerance_s
    return AdmissionRule(
        horizon_days=settings.late_horizon_days,
        future_tolerance=None if tolerance is None else timedelta(seconds=tolerance),
    )


def fact_kind(event: Envelope) -> FactKind | None:
    """Windowed or state; None for tierflow's own outputs."""
    return FACT_KINDS.get(type(event))


def state_time(event: CustomerUpdated | BalanceSnapshot) -> datetime:
    """The moment a state fact is true from, which orders state facts: `as_of` for balances, else `occurred_at`."""
    if isinstance(event, BalanceSnapshot):
        return event.payload.as_of
    return event.occurred_at


def rejection(event: Envelope, received_at: datetime, rule: AdmissionRule) -> str | None:
    """The reason an input event that reached tierflow at `received_at` is refused, or None when it is applied."""
    kind = fact_kind(event)
    if kind is None:
        return None
    occurred_at = event.occurred_at
    horizon = rule.horizon_days
    if kind is FactKind.WINDOWED and horizon is not None and occurred_at < received_at - timedelta(days=horizon):
        return f"occurred_at is older than the late-arrival horizon of {horizon} days"
    if rule.future_tolerance is not None:
        latest = received_at + rule.future_tolerance
        if occurred_at > latest:
            return f"occurred_at is more than {rule.future_tolerance} ahead of when it was produced"
        if isinstance(event, BalanceSnapshot) and event.payload.as_of > latest:
            return f"payload.as_of is more than {rule.future_tolerance} ahead of when it was produced"
    return None


def received_at(timestamp_ms: int, fallback: datetime) -> datetime:
    """When a message reached tierflow: its Kafka timestamp, or `fallback` when it carries none."""
    if timestamp_ms <= 0:
        return fallback
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def remembered_from(event: Envelope, now: datetime) -> datetime:
    """Where an inbox that forgets old ids starts counting the horizon for this event.

    A windowed fact older than the horizon is refused on arrival, so its id is needed only until its
    `occurred_at` passes the horizon. A state fact is admitted at any age, so its id is kept for a
    horizon from when it was applied (a redelivery or a conflicting copy is still recognised).
    """
    if fact_kind(event) is FactKind.WINDOWED:
        return event.occurred_at
    return max(event.occurred_at, now)
