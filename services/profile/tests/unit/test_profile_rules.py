"""How events change a profile, with hand-picked cases: pure functions, plain objects, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tierflow_common.calendar import day_of, day_start
from tierflow_common.events.outputs import ProfileUpdatedPayload
from tierflow_profile.adapters.state import from_state, to_state
from tierflow_profile.domain.profile import Profile, age_band
from tierflow_profile.domain.snapshot import next_review_at, settle, to_json, view
from tierflow_profile.domain.trading_days import TradingDays
from tierflow_profile.handlers import HANDLERS
from tierflow_testing import builders as b

NOW = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def build(*events: Any, now: datetime = NOW) -> Profile:
    profile = Profile(customer_id="C1")
    settle(profile, now)
    for event in events:
        HANDLERS[type(event)](profile, event)
    profile.version = 1
    return profile


def published(profile: Profile, now: datetime = NOW) -> ProfileUpdatedPayload:
    settle(profile, now)
    return ProfileUpdatedPayload.model_validate_json(to_json(view(profile, now)))


def test_trades_count_and_money_stays_exact() -> None:
    profile = build(
        b.trade("C1", NOW - timedelta(days=2), commission="0.10"),
        b.trade("C1", NOW - timedelta(days=1), commission="0.20"),
    )
    snap = published(profile)
    assert snap.trading.trades_total == 2
    assert snap.contribution.commission_total == Decimal("0.30")  # not 0.30000000000000004
    assert snap.trading.last_trade_at == NOW - timedelta(days=1)


def test_a_late_trade_lands_in_its_own_day() -> None:
    profile = build(b.trade("C1", NOW), b.trade("C1", NOW - timedelta(days=100), commission="9.00"))
    snap = published(profile)
    assert (snap.trading.trades_30d, snap.trading.trades_90d, snap.trading.trades_365d) == (1, 1, 2)
    assert snap.trading.last_trade_at == NOW  # the late one does not move it back
    assert snap.contribution.commission_12m == Decimal("14.00")


def test_windows_expire_by_time_alone_and_next_review_says_when() -> None:
    profile = build(b.trade("C1", NOW - timedelta(days=25), commission="20.00"))
    settle(profile, NOW)
    review = next_review_at(profile)
    assert review == day_start(day_of(NOW - timedelta(days=25)) + 30)  # leaves the 30-day window
    assert published(profile, review - timedelta(microseconds=1)).trading.trades_30d == 1
    later = published(profile, review)
    assert (later.trading.trades_30d, later.trading.trades_90d) == (0, 1)


def test_commission_ytd_resets_with_the_calendar_year() -> None:
    december = datetime(2026, 12, 20, 4, 0, tzinfo=UTC)
    profile = build(b.trade("C1", december, commission="100.00"), now=december)
    assert published(profile, december).contribution.commission_ytd == Decimal("100.00")
    january = datetime(2027, 1, 2, 4, 0, tzinfo=UTC)
    snap = published(profile, january)
    assert snap.contribution.commission_ytd == Decimal("0")
    assert snap.contribution.commission_12m == Decimal("100.00")


def test_asset_trend_splits_money_leaving_from_market_moves() -> None:
    profile = build(
        b.balance("C1", "1000000.00", NOW - timedelta(days=95)),
        b.balance("C1", "900000.00", NOW - timedelta(days=40), net_inflow="-50000.00"),
        b.balance("C1", "600000.00", NOW - timedelta(days=1), net_inflow="-300000.00"),
    )
    assets = published(profile).assets
    assert assets.total_assets == Decimal("600000.00")
    assert assets.total_assets_90d_ago == Decimal("1000000.00")
    assert assets.total_assets_30d_ago == Decimal("900000.00")
    assert assets.net_inflow_30d == Decimal("-300000.00")
    assert assets.net_inflow_90d == Decimal("-350000.00")


def test_an_older_balance_snapshot_never_replaces_a_newer_one() -> None:
    profile = build(b.balance("C1", "2000000.00", NOW), b.balance("C1", "1000.00", NOW - timedelta(days=1)))
    assert published(profile).assets.total_assets == Decimal("2000000.00")


def test_complaints_and_unanswered_outbound_streaks_follow_event_time() -> None:
    def contact(days_ago: int, reason: str, outcome: str) -> Any:
        return b.contact("C1", NOW - timedelta(days=days_ago), reason=reason, outcome=outcome)

    profile = build(
        contact(10, "complaint", "unresolved"),
        contact(5, "complaint", "resolved"),
        contact(3, "complaint", "unresolved"),  # opened after the last resolution
        contact(20, "complaint", "unresolved"),  # late, before the resolution: not open
    )
    engagement = published(profile).engagement
    assert (engagement.complaints_total, engagement.complaints_open, engagement.complaints_resolved) == (4, 1, 1)


def test_failed_logins_are_counted_but_are_not_engagement() -> None:
    profile = build(b.login("C1", NOW, failed=True), b.login("C1", NOW - timedelta(days=1), channel="web"))
    engagement = published(profile).engagement
    assert (engagement.failed_logins_total, engagement.logins_total) == (1, 1)
    assert engagement.by_channel["web"].logins_7d == 1
    assert engagement.days_since_last_login == 1


def test_repeat_trading_statistics_follow_bgnbd_daily_periods() -> None:
    days = TradingDays()
    for day in (100, 100, 103, 110, 98):  # two trades on day 100; a late first trade on day 98
        days.add(day)
    assert days.bgnbd(today=120) == (3, 12, 22)  # x repeat days, t_x, T (from day 98)


def test_state_round_trips_exactly() -> None:
    profile = build(
        b.customer("C1", NOW, risk_level="C4"),
        b.trade("C1", NOW - timedelta(days=3), commission="1.2345"),
        b.balance("C1", "12345.6789", NOW),
        b.contact("C1", NOW, reason="complaint", outcome="unresolved"),
        b.login("C1", NOW, channel="mini_program"),
    )
    restored = from_state("C1", 1, to_state(profile))
    assert view(restored, NOW) == view(profile, NOW)


def test_the_view_carries_an_age_band_never_the_birth_year() -> None:
    snap = published(build(b.customer("C1", NOW, birth_year=1955), b.trade("C1", NOW)))
    assert snap.master.age_band == "60_plus"
    assert "birth_year" not in snap.master.model_dump()
    assert age_band(None, NOW) is None
    assert age_band(2000, NOW) == "under_30"
