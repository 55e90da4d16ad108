"""The event contract: what integrators may send, and the errors they get when they get it wrong."""

from __future__ import annotations

import uuid
from decimal import Decimal

import orjson
import pytest

from tierflow_common.events import TradeExecuted, decode_event, encode_event, topics
from tierflow_common.exceptions import ContractViolation


def trade_body(**payload_overrides: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "trade_id": "T1",
        "account_id": "A1",
        "instrument": "600519",
        "market": "SSE",
        "asset_class": "equity",
        "side": "buy",
        "quantity": "100",
        "price": "1500.00",
        "notional": "150000.00",
        "commission": "34.50",
        "channel": "app",
    }
    payload.update(payload_overrides)
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "trade.executed",
        "schema_version": 1,
        "occurred_at": "2026-11-20T09:31:02.123+08:00",
        "source": "core-trading",
        "customer_id": "C000123",
        "payload": payload,
    }


def decode(body: dict[str, object], *, topic: str = topics.TRADE, key: bytes | None = b"C000123") -> object:
    return decode_event(orjson.dumps(body), key=key, base_topic=topic)


def test_a_valid_trade_decodes_with_exact_money() -> None:
    event = decode(trade_body())
    assert isinstance(event, TradeExecuted)
    assert event.payload.commission == Decimal("34.50")
    assert event.occurred_at.utcoffset() is not None


def test_encoding_round_trips_and_keeps_money_as_strings() -> None:
    event = decode(trade_body())
    raw = orjson.loads(encode_event(event))  # type: ignore[arg-type]
    assert raw["payload"]["commission"] == "34.50"
    assert decode(raw) == event


def test_money_as_a_json_number_is_rejected_with_a_reason() -> None:
    with pytest.raises(ContractViolation) as caught:
        decode(trade_body(commission=34.5))
    assert "payload.commission" in caught.value.reason
    assert "decimal string" in caught.value.reason


def test_more_than_four_decimal_places_is_rejected_not_rounded() -> None:
    with pytest.raises(ContractViolation, match="rounding is never silent"):
        decode(trade_body(commission="1.00001"))


def test_negative_commission_is_rejected() -> None:
    with pytest.raises(ContractViolation, match="must not be negative"):
        decode(trade_body(commission="-1.00"))


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ContractViolation, match="customer_name: Extra inputs are not permitted"):
        decode(trade_body(customer_name="Zhang San"))


def test_an_event_on_the_wrong_topic_is_rejected() -> None:
    with pytest.raises(ContractViolation, match=r"belongs on tierflow\.trade\.v1"):
        decode(trade_body(), topic=topics.LOGIN)


def test_the_key_must_be_the_customer_id() -> None:
    with pytest.raises(ContractViolation, match="keyed by customer_id"):
        decode(trade_body(), key=b"C999999")


def test_an_unsupported_schema_version_is_rejected() -> None:
    body = trade_body()
    body["schema_version"] = 2
    with pytest.raises(ContractViolation, match="schema_version"):
        decode(body)


def test_event_time_needs_an_offset() -> None:
    body = trade_body()
    body["occurred_at"] = "2026-11-20T09:31:02"
    with pytest.raises(ContractViolation, match="occurred_at"):
        decode(body)


def test_invalid_json_and_empty_messages_are_rejected() -> None:
    with pytest.raises(ContractViolation, match="Invalid JSON"):
        decode_event(b'{"event_id": ', key=None, base_topic=topics.TRADE)
    with pytest.raises(ContractViolation, match="empty"):
        decode_event(b"", key=None, base_topic=topics.TRADE)


def test_rejection_reasons_never_echo_the_input() -> None:
    """A reason goes into DLQ headers and logs; it must not carry what the producer sent."""
    secret = "13800138000"  # a phone number in the wrong field
    with pytest.raises(ContractViolation) as caught:
        decode(trade_body(instrument=secret * 5))
    assert secret not in caught.value.reason


def test_unknown_time_zone_is_rejected() -> None:
    body = {
        "event_id": str(uuid.uuid4()),
        "event_type": "customer.updated",
        "occurred_at": "2026-11-20T09:31:02+08:00",
        "source": "kyc",
        "customer_id": "C1",
        "payload": {
            "investor_type": "individual",
            "risk_level": "C3",
            "consents": {},
            "timezone": "Mars/Olympus",
        },
    }
    with pytest.raises(ContractViolation, match="IANA"):
        decode(body, topic=topics.CUSTOMER, key=b"C1")
