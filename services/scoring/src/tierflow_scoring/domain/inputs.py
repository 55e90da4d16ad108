"""What scoring reads from a published profile, kept per customer between profile versions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec


class ScoringInputs(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """The profile figures the tier rule and the churn model use."""

    profile_version: int
    computed_at: datetime
    first_seen_at: datetime
    total_assets: Decimal | None = None
    total_assets_90d_ago: Decimal | None = None
    net_inflow_90d: Decimal = Decimal(0)
    commission_12m: Decimal = Decimal(0)
    notional_365d: Decimal = Decimal(0)
    trades_30d: int = 0
    trades_90d: int = 0
    trades_365d: int = 0
    active_days_90d: int = 0
    first_trade_at: datetime | None = None
    last_trade_at: datetime | None = None
    last_login_at: datetime | None = None
    complaints_open: int = 0
    complaints_90d: int = 0
    last_nps: int | None = None
    unanswered_outbound_streak: int = 0
    repeat_x: int | None = None
    repeat_t_x: int | None = None
    closed: bool = False

    def figure(self, source: str) -> Decimal:
        """A dimension's source figure as a number (missing assets count as zero)."""
        value = getattr(self, source)
        return Decimal(0) if value is None else Decimal(value)
