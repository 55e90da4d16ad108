"""Response models of the advisor scorecard (kept apart from views.py, which is near its size limit)."""

from __future__ import annotations

from pydantic import Field

from tierflow_common.events.types import Money
from tierflow_routing.api.views import View
from tierflow_routing.domain.scorecard import Scorecard


class RetentionRead(View):
    matured: int = Field(description="Customers whose 90-day window of a decision naming the advisor has matured.")
    retained: int = Field(description="Of them, those who neither became dormant nor closed in the window.")
    rate: float | None = Field(description="retained / matured; null when no window has matured.", examples=[0.94])


class AumRead(View):
    now: Money = Field(description="Sum of the book's total assets now (unknown counts as 0).", examples=["8250000"])
    ago_90d: Money = Field(
        description="Sum of the book's total assets 90 days ago (the profile's latest snapshot on or before then; "
        "none, e.g. a customer new to the firm, counts as 0).",
        examples=["7900000"],
    )
    change: Money = Field(description="now minus ago_90d.", examples=["350000"])
    assets_unknown: int = Field(description="Book customers whose total assets the profile has not stated.")


class NpsRead(View):
    average: float | None = Field(
        description="Mean of the last NPS answer (0-10) of the book's customers who answered; null when none did.",
        examples=[8.4],
    )
    answers: int = Field(description="Book customers with an NPS answer.")


class ScorecardRead(View):
    """An advisor's book and how it fares, from routing's own data; coverage and overdue tasks are notification's."""

    advisor_id: str
    book_size: int = Field(description="Customers whose active route names the advisor now.")
    book_by_tier: dict[str, int] = Field(
        description="The book by the tier on the route.", examples=[{"A": 31, "B": 2, "C": 0, "D": 0}]
    )
    retention: RetentionRead
    net_inflow_90d: Money = Field(
        description="Sum of the book's transfers in minus out over 90 days (the profile's net_inflow_90d).",
        examples=["125000.50"],
    )
    aum: AumRead
    nps: NpsRead
    coverage: None = Field(
        default=None,
        description="Always null: coverage and overdue tasks come from notification, which holds the tasks "
        "(`GET /v1/advisors/{advisor_id}/coverage` on the notification API).",
    )

    @classmethod
    def of(cls, card: Scorecard) -> ScorecardRead:
        """The view of a computed scorecard."""
        return cls(
            advisor_id=card.advisor_id,
            book_size=card.book_size,
            book_by_tier=dict(card.book_by_tier),
            retention=RetentionRead(
                matured=card.retention.matured, retained=card.retention.retained, rate=card.retention.rate
            ),
            net_inflow_90d=card.net_inflow_90d,
            aum=AumRead(
                now=card.aum, ago_90d=card.aum_90d_ago, change=card.aum_change, assets_unknown=card.assets_unknown
            ),
            nps=NpsRead(average=card.nps_average, answers=card.nps_answers),
        )
