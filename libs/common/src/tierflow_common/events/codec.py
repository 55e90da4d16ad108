"""Bytes <-> events, with errors that say what is wrong and never echo the input."""

from __future__ import annotations

from pydantic import ValidationError

from tierflow_common.events.envelope import EVENT_ADAPTER, EVENT_TOPIC, Envelope, Event
from tierflow_common.exceptions import ContractViolation

MAX_REASON_CHARS = 900


def describe_validation_error(exc: ValidationError) -> str:
    """A compact reason listing each failing field; input values are left out (they may be personal)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        location = ".".join(str(part) for part in error["loc"]) or "<message>"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)[:MAX_REASON_CHARS]


def decode_event(value: bytes | None, *, key: bytes | None, base_topic: str) -> Event:
    """Parse and validate one Kafka message against the contract of the topic it came from."""
    if not value:
        raise ContractViolation("empty message value")
    try:
        event = EVENT_ADAPTER.validate_json(value)
    except ValidationError as exc:
        raise ContractViolation(describe_validation_error(exc)) from None
    expected_topic = EVENT_TOPIC[event.event_type]
    if expected_topic != base_topic:
        raise ContractViolation(f"event_type {event.event_type} belongs on {expected_topic}, not {base_topic}")
    if key is not None and key.decode("utf-8", "replace") != event.customer_id:
        raise ContractViolation("message key does not equal customer_id; events must be keyed by customer_id")
    return event


def encode_event(event: Envelope) -> bytes:
    """The JSON bytes of an event, exactly as the schema describes them."""
    return event.__pydantic_serializer__.to_json(event)
