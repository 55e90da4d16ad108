"""When the occurrences of a recurring step fall, and how a customer's series is spread over its period. Pure.

A recurring step (`every: P1M` in a playbook) is a **series** of occurrences 0, 1, 2, ... Occurrence
k opens at `start_k = series_start + k x every` (calendar arithmetic, domain/durations.py) and its
**period** runs until `start_(k+1)`. An advisor task of occurrence k is due `window` after
`start_k` (default: the whole period). A contact that satisfies the step counts for the period
it falls in (domain/satisfaction.py).

**Spreading.** The series starts `after_days` after the decision plus an offset inside the first
period, a fraction of it taken from a hash of (customer id, step name): 500 customers of one
advisor assigned the same morning fall due on 500 different moments of the month, not all on
the 1st, and each keeps its phase (the same day of each month) for as long as its plan lasts. The
same customer and step always get the same offset, so a redelivered decision plans the same time.

**The series ends** when an occurrence is cancelled or suppressed for a reason that ends the plan
(`ENDS_SERIES`: a new route, the customer's return for a step that stops on it, a closed account,
the global holdout). Every other outcome (sent, suppressed for consent or the cap, given up by a
provider, satisfied by a contact) plans the next occurrence.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Final

from tierflow_notification.domain.durations import Duration, add

# The reasons an occurrence stops that also stop its series (docs/notification.md, "Recurring steps").
ENDS_SERIES: Final = frozenset({"route_changed", "customer_returned", "account_closed", "holdout"})
_SCALE = float(2**64)


def spread_fraction(customer_id: str, step_name: str) -> float:
    """A customer's place in [0, 1) within a step's period: uniform over customers, stable across runs."""
    digest = hashlib.blake2b(f"{customer_id}\x1f{step_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def series_start(begins: datetime, every: Duration, customer_id: str, step_name: str) -> datetime:
    """When occurrence 0 opens: `begins` (the decision plus after_days) moved by the customer's spread offset."""
    return begins + (add(begins, every) - begins) * spread_fraction(customer_id, step_name)


def occurrence_start(start: datetime, every: Duration, occurrence: int) -> datetime:
    """When occurrence `occurrence` of a series that started at `start` opens (its period begins)."""
    return add(start, every, occurrence)


def window_days(opens: datetime, window: Duration) -> float:
    """How many days the task of an occurrence opening at `opens` has (the window from that moment)."""
    return (add(opens, window) - opens).total_seconds() / 86_400


def next_open_occurrence(start: datetime, every: Duration, after: int, now: datetime) -> int:
    """The first occurrence after `after` whose period has not ended by `now`: a series late by whole periods
    (the service was down, a step was deferred past its period) skips them rather than opening several at once."""
    occurrence = after + 1
    while occurrence_start(start, every, occurrence + 1) <= now:
        occurrence += 1
    return occurrence


def ends_series(reason: str) -> bool:
    """Whether an occurrence stopped for `reason` ends its series (no next occurrence is planned)."""
    return reason in ENDS_SERIES
