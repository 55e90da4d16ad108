"""Time and publication: settle a profile at "now", when it next changes by time alone, its view.

The view is plain data holding Decimals and datetimes (this is the hot path); `to_json` encodes
it exactly as the contract model `ProfileUpdatedPayload` describes (money as decimal strings,
times as RFC 3339), which the tests check.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from tierflow_common.calendar import day_of, day_start, next_year_start, year_start
from tierflow_profile.domain.profile import Profile, age_band
from tierflow_profile.domain.series import CONTACT_OUTCOMES, CONTACT_REASONS, LOGIN_CHANNELS


def settle(profile: Profile, now: datetime) -> None:
    """Move every window to `now`'s business day (never backwards); reset YTD in a new year."""
    today = day_of(now)
    if profile.settled_day is not None and today <= profile.settled_day:
        return
    for series in (profile.trades, profile.logins, profile.contacts, profile.inflows):
        series.advance(today)
    profile.asset_history.prune(today)
    first_of_year = year_start(today)
    if profile.ytd_first_day != first_of_year:
        profile.ytd_first_day = first_of_year
        profile.commission_ytd = Decimal(profile.trades.sum_since(first_of_year, 2))
    profile.settled_day = today


def next_review_at(profile: Profile) -> datetime | None:
    """The next moment a published figure changes with no new event (a window edge, a new year)."""
    today = profile.settled_day
    if today is None:
        return None
    days = [series.next_change_day() for series in (profile.trades, profile.logins, profile.contacts, profile.inflows)]
    days.append(profile.asset_history.next_change_day(today))
    if profile.commission_ytd:
        days.append(next_year_start(today))
    upcoming = [d for d in days if d is not None]
    return day_start(min(upcoming)) if upcoming else None


_json = msgspec.json.Encoder(decimal_format="string")


def to_json(value: Any) -> bytes:
    """JSON bytes with Decimals as decimal strings and datetimes as RFC 3339."""
    return _json.encode(value)


def view(profile: Profile, now: datetime) -> dict[str, Any]:
    """The `tierflow.profile.v1` payload of a settled profile (encode it with `to_json`)."""
    assert profile.first_seen_at is not None and profile.last_event_at is not None
    today = profile.settled_day if profile.settled_day is not None else day_of(now)
    trades_30, trades_90, trades_365 = profile.trades.window_sums()
    logins = profile.logins.window_sums()
    contacts_90 = profile.contacts.window_sums()[0]
    inflow_30, inflow_90 = profile.inflows.window_sums()
    days = profile.trading_days
    review = next_review_at(profile)
    repeat = days.bgnbd(today)
    n_reasons = len(CONTACT_REASONS)
    return {
        "version": profile.version,
        "computed_at": now,
        "first_seen_at": profile.first_seen_at,
        "last_event_at": profile.last_event_at,
        "next_review_at": review,
        "assets": {
            "total_assets": profile.total_assets,
            "cash": profile.cash,
            "securities": profile.securities,
            "wealth_products": profile.wealth_products,
            "liabilities": profile.liabilities,
            "as_of": profile.assets_as_of,
            "total_assets_30d_ago": profile.asset_history.at(today, 30),
            "total_assets_90d_ago": profile.asset_history.at(today, 90),
            "net_inflow_30d": inflow_30[0],
            "net_inflow_90d": inflow_90[0],
        },
        "trading": {
            "trades_total": profile.trades_total,
            "notional_total": profile.notional_total,
            "first_trade_at": profile.first_trade_at,
            "last_trade_at": profile.last_trade_at,
            "trades_30d": trades_30[0],
            "trades_90d": trades_90[0],
            "trades_365d": trades_365[0],
            "notional_30d": trades_30[1],
            "notional_90d": trades_90[1],
            "notional_365d": trades_365[1],
            "active_days_30d": days.count_since(today - 29),
            "active_days_90d": days.count_since(today - 89),
            "active_days_365d": days.count_since(today - 364),
            "asset_class_mix": {
                name: {"trades": count, "notional": profile.notional_by_asset_class[name]}
                for name, count in sorted(profile.trades_by_asset_class.items())
            },
            "channel_mix": dict(sorted(profile.trades_by_channel.items())),
        },
        "contribution": {
            "commission_12m": trades_365[2],
            "commission_ytd": profile.commission_ytd,
            "commission_total": profile.commission_total,
        },
        "engagement": {
            "logins_total": profile.logins_total,
            "failed_logins_total": profile.failed_logins_total,
            "last_login_at": profile.last_login_at,
            "days_since_last_login": None
            if profile.last_login_at is None
            else max(0, today - day_of(profile.last_login_at)),
            "logins_7d": sum(logins[0]),
            "logins_30d": sum(logins[1]),
            "logins_90d": sum(logins[2]),
            "by_channel": {
                channel: {
                    "logins_7d": logins[0][i],
                    "logins_30d": logins[1][i],
                    "logins_90d": logins[2][i],
                    "last_login_at": profile.last_login_by_channel.get(channel),
                }
                for i, channel in enumerate(LOGIN_CHANNELS)
                if channel in profile.last_login_by_channel
            },
            "contacts_total": profile.contacts_total,
            "last_contact_at": profile.last_contact_at,
            "contacts_90d": sum(contacts_90[:n_reasons]),
            "contacts_90d_by_reason": {r: contacts_90[i] for i, r in enumerate(CONTACT_REASONS) if contacts_90[i]},
            "contacts_90d_by_outcome": {
                o: contacts_90[n_reasons + i] for i, o in enumerate(CONTACT_OUTCOMES) if contacts_90[n_reasons + i]
            },
            "complaints_total": profile.complaints_total,
            "complaints_open": profile.open_complaints.count,
            "complaints_resolved": profile.complaints_resolved,
            "last_nps": profile.nps.latest,
            "rolling_nps": profile.nps.mean,
            "unanswered_outbound_streak": profile.unanswered_outbound.count,
        },
        "repeat_trading": None if repeat is None else {"x": repeat[0], "t_x": repeat[1], "T": repeat[2]},
        "master": {
            "investor_type": profile.investor_type,
            "age_band": age_band(profile.birth_year, now),
            "risk_level": profile.risk_level,
            "consents": {
                "marketing_sms": False,
                "marketing_push": False,
                "marketing_email": False,
                "marketing_phone": False,
                "data_for_advice": False,
                **profile.consents,
            },
            "timezone": profile.timezone,
            "region": profile.region,
            "closed": profile.closed,
        },
    }
