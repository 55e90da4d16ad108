"""What scoring reads from a published profile, kept per customer between profile versions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from tierflow_common.events import ProfileUpdated


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


def inputs_from_profile(event: ProfileUpdated) -> ScoringInputs:
    """The scoring inputs carried by a published profile."""
    p = event.payload
    repeat = p.repeat_trading
    reasons = p.engagement.contacts_90d_by_reason
    return ScoringInputs(
        profile_version=p.version,
        computed_at=p.computed_at,
        first_seen_at=p.first_seen_at,
        total_assets=p.assets.total_assets,
        total_assets_90d_ago=p.assets.total_assets_90d_ago,
        net_inflow_90d=p.assets.net_inflow_90d,
        commission_12m=p.contribution.commission_12m,
        notional_365d=p.trading.notional_365d,
        trades_30d=p.trading.trades_30d,
        trades_90d=p.trading.trades_90d,
        trades_365d=p.trading.trades_365d,
        active_days_90d=p.trading.active_days_90d,
        first_trade_at=p.trading.first_trade_at,
        last_trade_at=p.trading.last_trade_at,
        last_login_at=p.engagement.last_login_at,
        complaints_open=p.engagement.complaints_open,
        complaints_90d=sum(n for reason, n in reasons.items() if reason.value == "complaint"),
        last_nps=p.engagement.last_nps,
        unanswered_outbound_streak=p.engagement.unanswered_outbound_streak,
        repeat_x=None if repeat is None else repeat.x,
        repeat_t_x=None if repeat is None else repeat.t_x,
        closed=p.master.closed,
    )
