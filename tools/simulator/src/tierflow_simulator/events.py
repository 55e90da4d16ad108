"""Encoded input events for a persona, exactly as the contract describes them."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson

from tierflow_common.events import topics
from tierflow_simulator.population import Persona, Segment

CENT = Decimal("0.01")
COMMISSION_RATE = Decimal("0.00023")  # about 0.023%, the 2024 industry average
MIN_COMMISSION = Decimal("5.00")

INSTRUMENTS: dict[str, list[tuple[str, str, float]]] = {
    # asset class: (instrument, market, typical price)
    "equity": [("600519", "SSE", 1500.0), ("000001", "SZSE", 11.0), ("300750", "SZSE", 190.0), ("601318", "SSE", 45.0)],
    "etf": [("510300", "SSE", 3.9), ("159915", "SZSE", 2.1), ("513100", "SSE", 1.5)],
    "fund": [("000198", "OTC", 1.0), ("110022", "OTC", 2.8)],
    "bond": [("019547", "SSE", 101.2), ("113050", "SSE", 118.0)],
    "wealth_product": [("WP2026A", "OTC", 1.0)],
}


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One message ready for Kafka, with the event time used for ordering."""

    occurred_at: datetime
    topic: str
    key: bytes
    value: bytes
    event_id: str


def money(value: Decimal | float) -> str:
    """A CNY amount as the contract's decimal string (two places, rounded half-up explicitly)."""
    return str(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP))


class EventFactory:
    """Builds contract-valid events from a seeded random source."""

    def __init__(self, rng: random.Random, *, source: str = "simulator") -> None:
        self._rng = rng
        self._source = source
        self._trade_seq = 0

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _envelope(
        self, event_type: str, persona: Persona, at: datetime, payload: dict[str, Any], topic: str
    ) -> SimEvent:
        event_id = self._uuid()
        body = {
            "event_id": event_id,
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": at.isoformat(timespec="milliseconds"),
            "source": self._source,
            "customer_id": persona.customer_id,
            "payload": payload,
        }
        return SimEvent(at, topic, persona.customer_id.encode(), orjson.dumps(body), event_id)

    def customer(self, persona: Persona, at: datetime, *, closed: bool = False) -> SimEvent:
        return self._envelope(
            "customer.updated",
            persona,
            at,
            {
                "investor_type": "institutional" if persona.institutional else "individual",
                "birth_year": persona.birth_year,
                "risk_level": persona.risk_level,
                "consents": persona.consents,
                "timezone": "Asia/Shanghai",
                "region": persona.region,
                "closed": closed,
            },
            topics.CUSTOMER,
        )

    def balance(self, persona: Persona, at: datetime, total: Decimal, net_inflow: Decimal) -> SimEvent:
        rng = self._rng
        cash = total * Decimal(str(round(rng.uniform(0.05, 0.3), 4)))
        wealth = total * Decimal(str(round(rng.uniform(0.0, 0.3), 4)))
        securities = total - cash - wealth
        return self._envelope(
            "balance.snapshot",
            persona,
            at,
            {
                "as_of": at.isoformat(timespec="milliseconds"),
                "total_assets": money(total),
                "cash": money(cash),
                "securities": money(securities),
                "wealth_products": money(wealth),
                "liabilities": "0.00",
                "net_inflow": money(net_inflow),
            },
            topics.BALANCE,
        )

    def trade(self, persona: Persona, at: datetime) -> SimEvent:
        rng = self._rng
        asset_class = rng.choices(list(INSTRUMENTS), [0.55, 0.2, 0.1, 0.08, 0.07])[0]
        instrument, market, price = rng.choice(INSTRUMENTS[asset_class])
        price_d = Decimal(str(round(price * rng.uniform(0.9, 1.1), 3)))
        target = persona.notional_per_trade * rng.lognormvariate(0, 0.5)
        quantity = max(1, int(target / float(price_d) / 100)) * 100
        notional = (price_d * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
        commission = max(MIN_COMMISSION, (notional * COMMISSION_RATE).quantize(CENT, rounding=ROUND_HALF_UP))
        if persona.segment is Segment.SENIOR_BRANCH:
            channel = rng.choice(["branch", "phone", "app"])
        elif persona.segment in (Segment.DIGITAL_YOUNG, Segment.ACTIVE_TRADER):
            channel = rng.choice(["app", "app", "app", "web", "api"])
        else:
            channel = rng.choice(["app", "app", "web", "phone"])
        self._trade_seq += 1
        side = (
            rng.choice(["subscribe", "redeem"])
            if asset_class in ("fund", "wealth_product")
            else rng.choice(["buy", "sell"])
        )
        return self._envelope(
            "trade.executed",
            persona,
            at,
            {
                "trade_id": f"T{self._trade_seq:010d}",
                "account_id": f"A{persona.customer_id[1:]}",
                "instrument": instrument,
                "market": market,
                "asset_class": asset_class,
                "side": side,
                "quantity": str(quantity),
                "price": money(price_d),
                "notional": money(notional),
                "commission": money(commission),
                "channel": channel,
            },
            topics.TRADE,
        )

    def login(self, persona: Persona, at: datetime) -> SimEvent:
        rng = self._rng
        channel = (
            "branch_terminal"
            if persona.segment is Segment.SENIOR_BRANCH and rng.random() < 0.5
            else rng.choice(["app", "app", "web", "mini_program"])
        )
        device = hashlib.sha256(f"{persona.customer_id}:{rng.randint(0, 2)}".encode()).hexdigest()[:32]
        event_type = "login.failed" if rng.random() < 0.03 else "login.succeeded"
        return self._envelope(event_type, persona, at, {"channel": channel, "device_id": device}, topics.LOGIN)

    def contact(self, persona: Persona, at: datetime) -> SimEvent:
        rng = self._rng
        reason = rng.choices(
            ["inquiry", "complaint", "advisory", "campaign", "survey", "service"], [0.3, 0.06, 0.2, 0.2, 0.1, 0.14]
        )[0]
        direction = "outbound" if reason in ("campaign", "survey", "advisory") else "inbound"
        outcome = rng.choice(
            ["reached", "no_answer"] if direction == "outbound" else ["resolved", "resolved", "unresolved"]
        )
        payload: dict[str, Any] = {
            "channel": rng.choice(["phone", "sms", "app_message", "wechat", "branch"]),
            "direction": direction,
            "reason": reason,
            "outcome": outcome,
        }
        if persona.segment in (Segment.HIGH_NET_WORTH, Segment.AFFLUENT):
            payload["advisor_id"] = f"ADV{int(persona.customer_id[1:]) % 40:03d}"
        if reason == "survey" and outcome == "reached":
            payload["nps"] = rng.randint(0, 10)
        return self._envelope("contact.logged", persona, at, payload, topics.CONTACT)

    def malformed(self, persona: Persona, at: datetime) -> SimEvent:
        """A broken trade (money as a float) to show the dead-letter path."""
        event = self.trade(persona, at)
        body = orjson.loads(event.value)
        body["payload"]["commission"] = float(body["payload"]["commission"])
        return SimEvent(event.occurred_at, event.topic, event.key, orjson.dumps(body), event.event_id)
