"""Valid input events with sensible defaults, for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tierflow_common.events import (
    BalanceSnapshot,
    ContactLogged,
    CustomerUpdated,
    LoginFailed,
    LoginSucceeded,
    TradeExecuted,
)

T0 = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def _envelope(customer_id: str, at: datetime | None, event_id: uuid.UUID | None) -> dict[str, Any]:
    return {
        "event_id": event_id or uuid.uuid4(),
        "occurred_at": at or T0,
        "source": "test",
        "customer_id": customer_id,
    }


def trade(
    customer_id: str,
    at: datetime | None = None,
    *,
    commission: str = "5.00",
    notional: str = "10000.00",
    channel: str = "app",
    asset_class: str = "equity",
    event_id: uuid.UUID | None = None,
) -> TradeExecuted:
    return TradeExecuted.model_validate(
        {
            **_envelope(customer_id, at, event_id),
            "payload": {
                "trade_id": f"T{uuid.uuid4().hex[:12]}",
                "account_id": f"A{customer_id}",
                "instrument": "600519",
                "market": "SSE",
                "asset_class": asset_class,
                "side": "buy",
                "quantity": "100",
                "price": "100.00",
                "notional": notional,
                "commission": commission,
                "channel": channel,
            },
        }
    )


def login(
    customer_id: str, at: datetime | None = None, *, failed: bool = False, channel: str = "app"
) -> LoginSucceeded | LoginFailed:
    model = LoginFailed if failed else LoginSucceeded
    return model.model_validate(
        {**_envelope(customer_id, at, None), "payload": {"channel": channel, "device_id": "d" * 32}}
    )


def contact(
    customer_id: str, at: datetime | None = None, *, reason: str = "inquiry", outcome: str = "resolved"
) -> ContactLogged:
    return ContactLogged.model_validate(
        {
            **_envelope(customer_id, at, None),
            "payload": {"channel": "phone", "direction": "inbound", "reason": reason, "outcome": outcome},
        }
    )


def balance(
    customer_id: str, total: str, at: datetime | None = None, *, net_inflow: str = "0.00", as_of: datetime | None = None
) -> BalanceSnapshot:
    moment = at or T0
    total_d = Decimal(total)
    cash = (total_d / 10).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    return BalanceSnapshot.model_validate(
        {
            **_envelope(customer_id, moment, None),
            "payload": {
                "as_of": as_of or moment,
                "total_assets": total,
                "cash": format(cash, "f"),
                "securities": format(total_d - cash, "f"),
                "wealth_products": "0",
                "liabilities": "0",
                "net_inflow": net_inflow,
            },
        }
    )


def customer(
    customer_id: str,
    at: datetime | None = None,
    *,
    risk_level: str = "C3",
    birth_year: int = 1980,
    closed: bool = False,
    consents: dict[str, bool] | None = None,
    timezone: str = "Asia/Shanghai",
) -> CustomerUpdated:
    return CustomerUpdated.model_validate(
        {
            **_envelope(customer_id, at, None),
            "payload": {
                "investor_type": "individual",
                "birth_year": birth_year,
                "risk_level": risk_level,
                "consents": consents or {"marketing_push": True, "data_for_advice": True},
                "timezone": timezone,
                "region": "shenzhen",
                "closed": closed,
            },
        }
    )


def profile_updated(
    customer_id: str,
    version: int,
    *,
    at: datetime | None = None,
    total_assets: str | None = "0",
    commission_12m: str = "0",
    last_trade_at: datetime | None = None,
    first_trade_at: datetime | None = None,
    first_seen_at: datetime | None = None,
    last_login_at: datetime | None = None,
    repeat: tuple[int, int] | None = None,
    closed: bool = False,
    region: str | None = None,
    risk_level: str | None = None,
    age_band: str | None = None,
    consents: dict[str, bool] | None = None,
    digital_logins_30d: int = 0,
    accepted_90d: int = 0,
    net_inflow_30d: str = "0",
    net_inflow_90d: str = "0",
) -> Any:
    """A tierflow.profile.v1 event as the profile service publishes it (computed at `at`)."""
    from tierflow_common.events import ProfileUpdated
    from tierflow_common.events.ids import derived_id

    moment = at or T0
    first_trade = first_trade_at or last_trade_at
    if repeat is None and first_trade is not None:
        repeat = (0, 0)
    return ProfileUpdated.model_validate(
        {
            "event_id": derived_id("profile", customer_id, version),
            "occurred_at": moment,
            "source": "tierflow-profile",
            "customer_id": customer_id,
            "payload": {
                "version": version,
                "computed_at": moment,
                "first_seen_at": first_seen_at or first_trade or moment,
                "last_event_at": moment,
                "assets": {
                    "total_assets": total_assets,
                    "as_of": moment if total_assets else None,
                    "net_inflow_30d": net_inflow_30d,
                    "net_inflow_90d": net_inflow_90d,
                },
                "trading": {
                    "trades_total": 1 if last_trade_at else 0,
                    "first_trade_at": first_trade,
                    "last_trade_at": last_trade_at,
                },
                "contribution": {"commission_12m": commission_12m, "commission_total": commission_12m},
                "engagement": {
                    "last_login_at": last_login_at or moment,
                    "by_channel": {"app": {"logins_30d": digital_logins_30d}} if digital_logins_30d else {},
                    "contacts_90d_by_outcome": {"accepted": accepted_90d} if accepted_90d else {},
                },
                "repeat_trading": None if repeat is None else {"x": repeat[0], "t_x": repeat[1], "T": repeat[1]},
                "master": {
                    "closed": closed,
                    "region": region,
                    "risk_level": risk_level,
                    "age_band": age_band,
                    "consents": consents or {"data_for_advice": True},
                },
            },
        }
    )


def score_changed(
    customer_id: str,
    version: int,
    tier: str,
    *,
    at: datetime | None = None,
    churn_band: str = "low",
    value_score: float | None = None,
    churn_score: float | None = None,
) -> Any:
    """A tierflow.score.v1 event as the scoring service publishes it (value and churn scores: given or defaults)."""
    from tierflow_common.events import ScoreChanged
    from tierflow_common.events.ids import derived_id

    moment = at or T0
    return ScoreChanged.model_validate(
        {
            "event_id": derived_id("score", customer_id, version),
            "occurred_at": moment,
            "source": "tierflow-scoring",
            "customer_id": customer_id,
            "payload": {
                "version": version,
                "profile_version": version,
                "tier": tier,
                "tier_since": moment,
                "churn_band": churn_band,
                "reasons": [{"code": f"test_tier_{tier}", "contribution": 1.0, "detail": "set by a test"}],
                "policy_version": "default-1",
                "decided_at": moment,
                **({} if value_score is None else {"value_score": value_score}),
                **({} if churn_score is None else {"churn_score": churn_score}),
            },
        }
    )


FLOW_TIER = {"private_advisor": "A", "robo_advisor": "B", "community": "C", "reactivation": "D"}


def routing_decided(
    customer_id: str,
    version: int,
    flow: str,
    *,
    at: datetime | None = None,
    priority: str = "normal",
    advisor_id: str | None = None,
    experiment: dict[str, Any] | None = None,
    tier: str | None = None,
) -> Any:
    """A tierflow.routing.v1 event as the routing service publishes it (`experiment`: the arm, if any; `tier`:
    the flow's usual tier unless given)."""
    from tierflow_common.events import RoutingDecided
    from tierflow_common.events.ids import derived_id

    moment = at or T0
    decision_id = derived_id("routing", customer_id, version)
    return RoutingDecided.model_validate(
        {
            "event_id": decision_id,
            "occurred_at": moment,
            "source": "tierflow-routing",
            "customer_id": customer_id,
            "payload": {
                "decision_id": decision_id,
                "version": version,
                "flow": flow,
                "priority": priority,
                "advisor_id": advisor_id,
                "tier": tier
                or {"private_advisor": "A", "robo_advisor": "B", "community": "C", "reactivation": "D"}[flow],
                "reasons": [],
                "policy_version": "default-1",
                "decided_at": moment,
                "supersedes": derived_id("routing", customer_id, version - 1) if version > 1 else None,
                "caused_by": derived_id("score", customer_id, version),
                "experiment": experiment,
            },
        }
    )
