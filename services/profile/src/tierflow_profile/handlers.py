"""How each input event type changes a profile: HANDLERS maps every event class the service consumes
to the pure function that applies one event of that type (the batch processor calls
`HANDLERS[type(event)](profile, event)`).

Every handler is commutative with the others: the final profile depends on the set of events,
not on their arrival order (the property tests check this against a from-scratch computation).
Call `settle` (domain/snapshot.py) before applying, so windows are positioned at "now".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tierflow_common.calendar import day_of
from tierflow_common.events import (
    BalanceSnapshot,
    ContactLogged,
    CustomerUpdated,
    LoginFailed,
    LoginSucceeded,
    TradeExecuted,
)
from tierflow_common.events.envelope import Envelope
from tierflow_profile.domain.profile import ZERO, Profile, earliest, latest
from tierflow_profile.domain.series import CONTACT_OUTCOMES, CONTACT_REASONS, LOGIN_CHANNELS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LOGIN_INDEX = {c: i for i, c in enumerate(LOGIN_CHANNELS)}
_REASON_INDEX = {r: i for i, r in enumerate(CONTACT_REASONS)}
_OUTCOME_INDEX = {o: len(CONTACT_REASONS) + i for i, o in enumerate(CONTACT_OUTCOMES)}
_CONTACT_WIDTH = len(CONTACT_REASONS) + len(CONTACT_OUTCOMES)


def _us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _seen(profile: Profile, event: Envelope) -> None:
    """Every event: the first and last time anything was seen of the customer."""
    profile.first_seen_at = earliest(profile.first_seen_at, event.occurred_at)
    profile.last_event_at = latest(profile.last_event_at, event.occurred_at)


def apply_trade(profile: Profile, event: TradeExecuted) -> None:
    """A trade: counts, notional and commission into its business day, mixes, trading days."""
    _seen(profile, event)
    payload = event.payload
    day = day_of(event.occurred_at)
    profile.trades_total += 1
    profile.notional_total += payload.notional
    profile.commission_total += payload.commission
    profile.first_trade_at = earliest(profile.first_trade_at, event.occurred_at)
    profile.last_trade_at = latest(profile.last_trade_at, event.occurred_at)
    profile.trades.add(day, (1, payload.notional, payload.commission))
    profile.trading_days.add(day)
    if profile.ytd_first_day is not None and day >= profile.ytd_first_day:
        profile.commission_ytd += payload.commission
    asset_class = payload.asset_class.value
    profile.trades_by_asset_class[asset_class] = profile.trades_by_asset_class.get(asset_class, 0) + 1
    profile.notional_by_asset_class[asset_class] = (
        profile.notional_by_asset_class.get(asset_class, ZERO) + payload.notional
    )
    channel = payload.channel.value
    profile.trades_by_channel[channel] = profile.trades_by_channel.get(channel, 0) + 1


def apply_login(profile: Profile, event: LoginSucceeded) -> None:
    """A successful login, counted per channel."""
    _seen(profile, event)
    channel = event.payload.channel.value
    profile.logins_total += 1
    profile.last_login_at = latest(profile.last_login_at, event.occurred_at)
    profile.last_login_by_channel[channel] = latest(profile.last_login_by_channel.get(channel), event.occurred_at)
    delta = [0] * len(LOGIN_CHANNELS)
    delta[_LOGIN_INDEX[channel]] = 1
    profile.logins.add(day_of(event.occurred_at), delta)


def apply_failed_login(profile: Profile, event: LoginFailed) -> None:
    """A failed login counts, but is not engagement."""
    _seen(profile, event)
    profile.failed_logins_total += 1


def apply_contact(profile: Profile, event: ContactLogged) -> None:
    """A contact: by reason and outcome; complaints; NPS; unanswered outbound contacts in a row."""
    _seen(profile, event)
    payload = event.payload
    at_us = _us(event.occurred_at)
    profile.contacts_total += 1
    profile.last_contact_at = latest(profile.last_contact_at, event.occurred_at)
    delta = [0] * _CONTACT_WIDTH
    delta[_REASON_INDEX[payload.reason.value]] = 1
    delta[_OUTCOME_INDEX[payload.outcome.value]] = 1
    profile.contacts.add(day_of(event.occurred_at), delta)
    if payload.reason.value == "complaint":
        profile.complaints_total += 1
        if payload.outcome.value == "resolved":
            profile.complaints_resolved += 1
            profile.open_complaints.good(at_us)
        else:
            profile.open_complaints.bad(at_us)
    if payload.direction.value == "outbound":
        if payload.outcome.value == "no_answer":
            profile.unanswered_outbound.bad(at_us)
        else:
            profile.unanswered_outbound.good(at_us)
    if payload.nps is not None:
        profile.nps.add(at_us, payload.nps)


def apply_balance(profile: Profile, event: BalanceSnapshot) -> None:
    """A balance snapshot: history and inflow always; the current assets only if it is the newest."""
    _seen(profile, event)
    payload = event.payload
    profile.asset_history.put(day_of(payload.as_of), _us(payload.as_of), payload.total_assets)
    profile.inflows.add(day_of(payload.as_of), (payload.net_inflow,))
    key = (payload.as_of, str(event.event_id))
    if profile.assets_as_of is not None and key < (profile.assets_as_of, profile.assets_event_id or ""):
        return
    profile.assets_event_id = key[1]
    profile.total_assets = payload.total_assets
    profile.cash = payload.cash
    profile.securities = payload.securities
    profile.wealth_products = payload.wealth_products
    profile.liabilities = payload.liabilities
    profile.assets_as_of = payload.as_of


def apply_customer(profile: Profile, event: CustomerUpdated) -> None:
    """Customer master data: the latest update by event time wins."""
    _seen(profile, event)
    key = (event.occurred_at, str(event.event_id))
    if profile.master_as_of is not None and key < (profile.master_as_of, profile.master_event_id or ""):
        return
    profile.master_event_id = key[1]
    payload = event.payload
    profile.investor_type = payload.investor_type.value
    profile.birth_year = payload.birth_year
    profile.risk_level = payload.risk_level.value
    profile.consents = payload.consents.model_dump()
    profile.timezone = payload.timezone
    profile.region = payload.region
    profile.closed = payload.closed
    profile.master_as_of = event.occurred_at


HANDLERS: dict[type[Envelope], Callable[[Profile, Any], None]] = {
    TradeExecuted: apply_trade,
    LoginSucceeded: apply_login,
    LoginFailed: apply_failed_login,
    ContactLogged: apply_contact,
    BalanceSnapshot: apply_balance,
    CustomerUpdated: apply_customer,
}
