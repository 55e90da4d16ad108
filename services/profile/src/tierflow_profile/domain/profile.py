"""The customer profile ("customer 360"): everything the pipeline knows, updated one event at a time.

Pure data and pure rules: no I/O, no clock. Money is Decimal throughout.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from tierflow_profile.domain.series import (
    CONTACT_OUTCOMES,
    CONTACT_REASONS,
    LOGIN_CHANNELS,
    ContactSeries,
    InflowSeries,
    LaggedValues,
    LoginSeries,
    TradeSeries,
)
from tierflow_profile.domain.streaks import RecentValues, Streak
from tierflow_profile.domain.trading_days import TradingDays

__all__ = ["CONTACT_OUTCOMES", "CONTACT_REASONS", "LOGIN_CHANNELS", "ZERO", "Profile"]

ZERO = Decimal(0)


class Profile(msgspec.Struct, array_like=True, gc=False):
    """One customer's profile. Windowed figures live in the series; `settled_day` is their "today"."""

    customer_id: str
    version: int = 0
    first_seen_at: datetime | None = None
    last_event_at: datetime | None = None
    settled_day: int | None = None
    # Assets: the latest snapshot by as_of, daily history for the 30/90-day-ago values, inflows.
    total_assets: Decimal | None = None
    cash: Decimal | None = None
    securities: Decimal | None = None
    wealth_products: Decimal | None = None
    liabilities: Decimal | None = None
    assets_as_of: datetime | None = None
    assets_event_id: str | None = None  # ties on as_of are broken by event id: arrival order never matters
    asset_history: LaggedValues = msgspec.field(default_factory=LaggedValues)
    inflows: InflowSeries = msgspec.field(default_factory=InflowSeries)
    # Trading activity and contribution.
    trades_total: int = 0
    notional_total: Decimal = ZERO
    commission_total: Decimal = ZERO
    commission_ytd: Decimal = ZERO
    ytd_first_day: int | None = None
    first_trade_at: datetime | None = None
    last_trade_at: datetime | None = None
    trades: TradeSeries = msgspec.field(default_factory=TradeSeries)
    trading_days: TradingDays = msgspec.field(default_factory=TradingDays)
    trades_by_asset_class: dict[str, int] = {}
    notional_by_asset_class: dict[str, Decimal] = {}
    trades_by_channel: dict[str, int] = {}
    # Engagement.
    logins_total: int = 0
    failed_logins_total: int = 0
    last_login_at: datetime | None = None
    last_login_by_channel: dict[str, datetime] = {}
    logins: LoginSeries = msgspec.field(default_factory=LoginSeries)
    contacts_total: int = 0
    last_contact_at: datetime | None = None
    contacts: ContactSeries = msgspec.field(default_factory=ContactSeries)
    complaints_total: int = 0
    complaints_resolved: int = 0
    open_complaints: Streak = msgspec.field(default_factory=Streak)
    unanswered_outbound: Streak = msgspec.field(default_factory=Streak)
    nps: RecentValues = msgspec.field(default_factory=RecentValues)
    # Customer master: the latest customer.updated by event time.
    investor_type: str | None = None
    birth_year: int | None = None
    risk_level: str | None = None
    consents: dict[str, bool] = {}
    timezone: str = "Asia/Shanghai"
    region: str | None = None
    closed: bool = False
    master_as_of: datetime | None = None
    master_event_id: str | None = None
    # When this version was computed and published (last, so older stored documents still decode):
    # a republication of the version is then the same message, byte for byte, under the same id.
    computed_at: datetime | None = None


def earliest(current: datetime | None, candidate: datetime) -> datetime:
    """The earlier of two moments, treating None as "never"."""
    return candidate if current is None or candidate < current else current


def latest(current: datetime | None, candidate: datetime) -> datetime:
    """The later of two moments, treating None as "never"."""
    return candidate if current is None or candidate > current else current


def age_band(birth_year: int | None, now: datetime) -> str | None:
    """Coarse life stage from a birth year; the birth year itself is never published."""
    if birth_year is None:
        return None
    age = now.year - birth_year
    if age < 30:
        return "under_30"
    if age < 45:
        return "30_44"
    if age < 60:
        return "45_59"
    return "60_plus"
