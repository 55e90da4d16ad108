"""Property tests: the incremental profile equals a from-scratch computation over the same events.

The incremental side is exactly what the service does: batches in arrival order, each settled at
a later "now", stored and reloaded between batches. The oracle below shares no code with it: it
computes every published figure directly from the set of distinct events with plain
comprehensions. Hypothesis draws random event sequences, random arrival orders (permutations)
and random duplications.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierflow_common.events import (
    BalanceSnapshot,
    ContactLogged,
    CustomerUpdated,
    LoginFailed,
    LoginSucceeded,
    TradeExecuted,
)
from tierflow_common.events.outputs import ProfileUpdatedPayload
from tierflow_profile.adapters.state import from_state, to_state
from tierflow_profile.domain.profile import Profile
from tierflow_profile.domain.snapshot import settle, to_json, view
from tierflow_profile.handlers import HANDLERS
from tierflow_testing import builders as b

START = datetime(2025, 3, 1, tzinfo=UTC)
SPAN_DAYS = 700  # events spread over ~2 years: windows, year boundaries and pruning all get exercised


def bday(moment: datetime) -> int:
    """Business day (UTC+8) as days since 1970-01-01, computed independently of the code under test."""
    local = moment.astimezone(UTC) + timedelta(hours=8)
    return (local.date() - date(1970, 1, 1)).days


def first_of_year(day: int) -> int:
    year = (date(1970, 1, 1) + timedelta(days=day)).year
    return (date(year, 1, 1) - date(1970, 1, 1)).days


# ---------------------------------------------------------------- strategies

moments = st.integers(min_value=0, max_value=SPAN_DAYS * 86400).map(
    lambda s: START + timedelta(seconds=s, microseconds=(s * 7919) % 1_000_000)
)
money = st.integers(min_value=0, max_value=5_000_000).map(lambda c: Decimal(c) / 100)


@st.composite
def events(draw: Any) -> Any:
    kind = draw(st.sampled_from(["trade", "trade", "login", "failed", "contact", "balance", "customer"]))
    at = draw(moments)
    if kind == "trade":
        event = b.trade(
            "C1",
            at,
            commission=format(draw(money), "f"),
            notional=format(draw(money), "f"),
            channel=draw(st.sampled_from(["app", "web", "branch", "phone", "api"])),
            asset_class=draw(st.sampled_from(["equity", "etf", "fund", "bond"])),
        )
    elif kind == "login":
        event = b.login("C1", at, channel=draw(st.sampled_from(["app", "web", "mini_program", "branch_terminal"])))
    elif kind == "failed":
        event = b.login("C1", at, failed=True)
    elif kind == "contact":
        event = ContactLogged.model_validate(
            {
                "event_id": uuid.uuid4(),
                "occurred_at": at,
                "source": "test",
                "customer_id": "C1",
                "payload": {
                    "channel": "phone",
                    "direction": draw(st.sampled_from(["inbound", "outbound"])),
                    "reason": draw(st.sampled_from(["inquiry", "complaint", "survey", "campaign"])),
                    "outcome": draw(st.sampled_from(["reached", "no_answer", "resolved", "unresolved"])),
                    "nps": draw(st.one_of(st.none(), st.integers(0, 10))),
                },
            }
        )
    elif kind == "balance":
        event = b.balance(
            "C1", format(draw(money), "f"), at, net_inflow=format(draw(money) - 20000, "f"), as_of=draw(moments)
        )
    else:
        event = b.customer("C1", at, risk_level=draw(st.sampled_from(["C1", "C3", "C5"])), birth_year=1960)
    return event


@st.composite
def scenarios(draw: Any) -> tuple[list[Any], list[list[Any]], datetime]:
    """(distinct events, arrival batches with duplicates in a random order, final now)."""
    distinct = draw(st.lists(events(), min_size=1, max_size=40))
    arrivals = list(distinct) + draw(st.lists(st.sampled_from(distinct), max_size=10))  # duplicates
    arrivals = draw(st.permutations(arrivals))
    cuts = sorted(draw(st.lists(st.integers(0, len(arrivals)), max_size=5)))
    batches = [arrivals[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrivals)], strict=True) if arrivals[a:b]]
    latest_event = max(e.occurred_at for e in distinct)
    final_now = latest_event + timedelta(days=draw(st.integers(0, 400)), hours=draw(st.integers(0, 23)))
    return distinct, batches, final_now


# ---------------------------------------------------------------- the two sides


def incremental(batches: list[list[Any]], final_now: datetime) -> dict[str, Any]:
    """What the service does: per batch, settle at a later now, apply new events, store, reload."""
    stored: bytes | None = None
    version = 0
    seen: set[uuid.UUID] = set()
    first = min(e.occurred_at for batch in batches for e in batch)
    step = (final_now - first) / (len(batches) + 1)
    for index, batch in enumerate(batches, start=1):
        now = first + step * index
        profile = Profile(customer_id="C1") if stored is None else from_state("C1", version, stored)
        settle(profile, now)
        for event in batch:
            if event.event_id in seen:  # the inbox
                continue
            seen.add(event.event_id)
            HANDLERS[type(event)](profile, event)
        version += 1
        profile.version = version
        stored = to_state(profile)
    assert stored is not None
    profile = from_state("C1", version, stored)
    settle(profile, final_now)
    wire = to_json(view(profile, final_now))
    ProfileUpdatedPayload.model_validate_json(wire)  # what the service publishes satisfies the contract
    return msgspec.json.decode(wire)


def streak(items: list[tuple[datetime, bool]]) -> int:
    """Bad outcomes after the latest good one, by time (capped at 64)."""
    good = [t for t, ok in items if ok]
    last_good = max(good) if good else None
    return min(64, sum(1 for t, ok in items if not ok and (last_good is None or t > last_good)))


def money_str(value: Decimal | int) -> str:
    return format(Decimal(value), "f")


def oracle(distinct: list[Any], now: datetime) -> dict[str, Any]:
    """Every figure computed directly from the distinct events."""
    today = bday(now)

    def inside(moment: datetime, window: int) -> bool:
        return bday(moment) > today - window

    trades = [e for e in distinct if isinstance(e, TradeExecuted)]
    logins = [e for e in distinct if isinstance(e, LoginSucceeded)]
    contacts = [e for e in distinct if isinstance(e, ContactLogged)]
    balances = [e for e in distinct if isinstance(e, BalanceSnapshot)]
    masters = [e for e in distinct if isinstance(e, CustomerUpdated)]
    trade_days = sorted({bday(t.occurred_at) for t in trades})
    newest_balance = max(balances, key=lambda e: (e.payload.as_of, str(e.event_id)), default=None)

    def lagged(lag: int) -> str | None:
        eligible = [e for e in balances if bday(e.payload.as_of) <= today - lag]
        if not eligible:
            return None
        chosen = max(eligible, key=lambda e: (e.payload.as_of, e.payload.total_assets))
        return money_str(chosen.payload.total_assets)

    def tsum(window: int, field: str) -> Decimal:
        return sum((getattr(t.payload, field) for t in trades if inside(t.occurred_at, window)), Decimal(0))

    def reason_counts(attr: str) -> dict[str, int]:
        counts = Counter(getattr(c.payload, attr).value for c in contacts if inside(c.occurred_at, 90))
        return dict(counts)

    nps = sorted((c.occurred_at, c.payload.nps) for c in contacts if c.payload.nps is not None)[-5:]
    complaints = [
        (c.occurred_at, c.payload.outcome.value == "resolved")
        for c in contacts
        if c.payload.reason.value == "complaint"
    ]
    outbound = [
        (c.occurred_at, c.payload.outcome.value != "no_answer")
        for c in contacts
        if c.payload.direction.value == "outbound"
    ]
    master = max(masters, key=lambda e: (e.occurred_at, str(e.event_id)), default=None)
    return {
        "first_seen_at": min(e.occurred_at for e in distinct),
        "last_event_at": max(e.occurred_at for e in distinct),
        "total_assets": None if newest_balance is None else money_str(newest_balance.payload.total_assets),
        "total_assets_30d_ago": lagged(30),
        "total_assets_90d_ago": lagged(90),
        "net_inflow_30d": sum((e.payload.net_inflow for e in balances if inside(e.payload.as_of, 30)), Decimal(0)),
        "net_inflow_90d": sum((e.payload.net_inflow for e in balances if inside(e.payload.as_of, 90)), Decimal(0)),
        "trades_total": len(trades),
        "notional_total": sum((t.payload.notional for t in trades), Decimal(0)),
        "trades_30d": sum(1 for t in trades if inside(t.occurred_at, 30)),
        "trades_90d": sum(1 for t in trades if inside(t.occurred_at, 90)),
        "trades_365d": sum(1 for t in trades if inside(t.occurred_at, 365)),
        "notional_90d": tsum(90, "notional"),
        "notional_365d": tsum(365, "notional"),
        "active_days_30d": sum(1 for d in trade_days if d > today - 30),
        "active_days_365d": sum(1 for d in trade_days if d > today - 365),
        "commission_12m": tsum(365, "commission"),
        "commission_ytd": sum(
            (t.payload.commission for t in trades if bday(t.occurred_at) >= first_of_year(today)), Decimal(0)
        ),
        "commission_total": sum((t.payload.commission for t in trades), Decimal(0)),
        "channel_mix": dict(Counter(t.payload.channel.value for t in trades)),
        "asset_class_trades": dict(Counter(t.payload.asset_class.value for t in trades)),
        "repeat_trading": None
        if not trade_days
        else {
            "x": len(trade_days) - 1,
            "t_x": trade_days[-1] - trade_days[0],
            "T": max(today, trade_days[-1]) - trade_days[0],
        },
        "logins_total": len(logins),
        "failed_logins_total": sum(1 for e in distinct if isinstance(e, LoginFailed)),
        "logins_7d": sum(1 for e in logins if inside(e.occurred_at, 7)),
        "logins_30d": sum(1 for e in logins if inside(e.occurred_at, 30)),
        "logins_90d": sum(1 for e in logins if inside(e.occurred_at, 90)),
        "app_logins_30d": sum(1 for e in logins if inside(e.occurred_at, 30) and e.payload.channel.value == "app"),
        "last_login_at": max((e.occurred_at for e in logins), default=None),
        "contacts_total": len(contacts),
        "contacts_90d": sum(1 for c in contacts if inside(c.occurred_at, 90)),
        "by_reason": reason_counts("reason"),
        "by_outcome": reason_counts("outcome"),
        "complaints_total": len(complaints),
        "complaints_resolved": sum(1 for _, ok in complaints if ok),
        "complaints_open": streak(complaints),
        "unanswered": streak(outbound),
        "last_nps": nps[-1][1] if nps else None,
        "rolling_nps": round(sum(v for _, v in nps) / len(nps), 2) if nps else None,
        "risk_level": None if master is None else master.payload.risk_level.value,
    }


def observed(result: dict[str, Any]) -> dict[str, Any]:
    """The same figures read from the published view."""
    a, t, c, e = result["assets"], result["trading"], result["contribution"], result["engagement"]
    dec = lambda v: None if v is None else Decimal(v)  # noqa: E731
    return {
        "first_seen_at": datetime.fromisoformat(result["first_seen_at"]),
        "last_event_at": datetime.fromisoformat(result["last_event_at"]),
        "total_assets": a["total_assets"],
        "total_assets_30d_ago": a["total_assets_30d_ago"],
        "total_assets_90d_ago": a["total_assets_90d_ago"],
        "net_inflow_30d": dec(a["net_inflow_30d"]),
        "net_inflow_90d": dec(a["net_inflow_90d"]),
        "trades_total": t["trades_total"],
        "notional_total": dec(t["notional_total"]),
        "trades_30d": t["trades_30d"],
        "trades_90d": t["trades_90d"],
        "trades_365d": t["trades_365d"],
        "notional_90d": dec(t["notional_90d"]),
        "notional_365d": dec(t["notional_365d"]),
        "active_days_30d": t["active_days_30d"],
        "active_days_365d": t["active_days_365d"],
        "commission_12m": dec(c["commission_12m"]),
        "commission_ytd": dec(c["commission_ytd"]),
        "commission_total": dec(c["commission_total"]),
        "channel_mix": t["channel_mix"],
        "asset_class_trades": {k: v["trades"] for k, v in t["asset_class_mix"].items()},
        "repeat_trading": result["repeat_trading"],
        "logins_total": e["logins_total"],
        "failed_logins_total": e["failed_logins_total"],
        "logins_7d": e["logins_7d"],
        "logins_30d": e["logins_30d"],
        "logins_90d": e["logins_90d"],
        "app_logins_30d": e["by_channel"].get("app", {}).get("logins_30d", 0),
        "last_login_at": None if e["last_login_at"] is None else datetime.fromisoformat(e["last_login_at"]),
        "contacts_total": e["contacts_total"],
        "contacts_90d": e["contacts_90d"],
        "by_reason": e["contacts_90d_by_reason"],
        "by_outcome": e["contacts_90d_by_outcome"],
        "complaints_total": e["complaints_total"],
        "complaints_resolved": e["complaints_resolved"],
        "complaints_open": e["complaints_open"],
        "unanswered": e["unanswered_outbound_streak"],
        "last_nps": e["last_nps"],
        "rolling_nps": e["rolling_nps"],
        "risk_level": result["master"]["risk_level"],
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_incremental_profile_equals_from_scratch(scenario: tuple[list[Any], list[list[Any]], datetime]) -> None:
    distinct, batches, final_now = scenario
    assert observed(incremental(batches, final_now)) == oracle(distinct, final_now)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_arrival_order_and_batching_do_not_matter(
    scenario: tuple[list[Any], list[list[Any]], datetime], rnd: Any
) -> None:
    _, batches, final_now = scenario
    flat = [e for batch in batches for e in batch]
    rnd.shuffle(flat)
    one_batch = incremental([flat], final_now)
    assert observed(one_batch) == observed(incremental(batches, final_now))
