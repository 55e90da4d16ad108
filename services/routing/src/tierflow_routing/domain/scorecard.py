"""An advisor's scorecard: book by tier, retention after 90 days, net inflow, AUM and its change, NPS (pure).

The adapter reads the book (the customers routed to the advisor now) and the advisor's matured 90-day outcome
windows; the figures are computed here on plain values (docs/api.md, the scorecard endpoint, defines each one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tierflow_routing.domain.resources import TIERS

RETENTION_WINDOW_DAYS = 90


@dataclass(frozen=True, slots=True)
class BookCustomer:
    """One customer of the advisor's book now: the route's tier and the profile figures the scorecard sums."""

    customer_id: str
    tier: str
    total_assets: Decimal | None
    total_assets_90d_ago: Decimal | None
    net_inflow_90d: Decimal
    last_nps: int | None


@dataclass(frozen=True, slots=True)
class MaturedWindow:
    """A matured 90-day outcome window of a decision that put the customer with the advisor."""

    customer_id: str
    became_dormant: bool
    closed: bool

    @property
    def retained(self) -> bool:
        """Neither dormant nor closed within the window."""
        return not (self.became_dormant or self.closed)


@dataclass(frozen=True, slots=True)
class Retention:
    """Of the customers whose window matured, how many were retained; the rate is None when none matured."""

    matured: int
    retained: int

    @property
    def rate(self) -> float | None:
        """retained / matured, or None when no window matured yet."""
        return None if self.matured == 0 else self.retained / self.matured


@dataclass(frozen=True, slots=True)
class Scorecard:
    """The advisor's figures (money in CNY, as the profile states it)."""

    advisor_id: str
    book_size: int
    book_by_tier: dict[str, int]
    retention: Retention
    net_inflow_90d: Decimal
    aum: Decimal
    aum_90d_ago: Decimal
    assets_unknown: int  # customers of the book whose total assets the profile has not stated
    nps_average: float | None
    nps_answers: int

    @property
    def aum_change(self) -> Decimal:
        """AUM now minus AUM 90 days ago."""
        return self.aum - self.aum_90d_ago


def retention(windows: Iterable[MaturedWindow]) -> Retention:
    """One window per customer (the caller picks which); the share neither dormant nor closed."""
    matured = retained = 0
    for window in windows:
        matured += 1
        retained += window.retained
    return Retention(matured=matured, retained=retained)


def book_by_tier(book: Iterable[BookCustomer]) -> dict[str, int]:
    """Customers per tier, every tier present (0 when none)."""
    counts = Counter(customer.tier for customer in book)
    return {tier: counts.get(tier, 0) for tier in TIERS}


def scorecard(advisor_id: str, book: Iterable[BookCustomer], windows: Iterable[MaturedWindow]) -> Scorecard:
    """The scorecard of `advisor_id` from their book now and their matured 90-day windows.

    Unknown assets count as zero: a customer with no snapshot 90 days ago (new to the firm) adds their whole
    assets to the change, which is what the book gained. NPS averages the customers who answered (last answer).
    """
    customers = list(book)
    answers = [c.last_nps for c in customers if c.last_nps is not None]
    return Scorecard(
        advisor_id=advisor_id,
        book_size=len(customers),
        book_by_tier=book_by_tier(customers),
        retention=retention(windows),
        net_inflow_90d=sum((c.net_inflow_90d for c in customers), Decimal(0)),
        aum=sum((c.total_assets or Decimal(0) for c in customers), Decimal(0)),
        aum_90d_ago=sum((c.total_assets_90d_ago or Decimal(0) for c in customers), Decimal(0)),
        assets_unknown=sum(c.total_assets is None for c in customers),
        nps_average=None if not answers else sum(answers) / len(answers),
        nps_answers=len(answers),
    )
