"""A dead letter always fits the size budget and says what was cut; a broker refusing its size halves the budget."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from tierflow_common.kafka.dead_letter import (
    DEFAULT_MAX_BYTES,
    H_ORIGINAL_SIZE,
    H_TRUNCATED,
    MIN_MAX_BYTES,
    DeadLetterer,
    Headers,
    fit,
    record_size,
)

OURS: Headers = [("tierflow.error", b"x" * 900), ("tierflow.error.kind", b"contract")]


def kafka_size(key: bytes | None, value: bytes | None, headers: Headers) -> int:
    """What aiokafka compares with max_request_size."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers))


def test_a_message_that_fits_is_sent_as_it_is() -> None:
    letter = fit(b"C1", b"{}", [("traceparent", b"00-abc")], OURS, max_bytes=DEFAULT_MAX_BYTES)
    assert (letter.key, letter.value) == (b"C1", b"{}")
    assert letter.headers == [("traceparent", b"00-abc"), *OURS]


def test_a_value_near_one_mebibyte_is_cut_to_fit_and_the_headers_say_so() -> None:
    value = b"v" * 1_048_300
    letter = fit(b"C1", value, [], OURS, max_bytes=DEFAULT_MAX_BYTES)
    assert record_size(letter.key, letter.value, letter.headers) <= DEFAULT_MAX_BYTES
    assert kafka_size(letter.key, letter.value, letter.headers) <= DEFAULT_MAX_BYTES
    assert letter.value is not None and value.startswith(letter.value) and len(letter.value) > 990_000
    headers = dict(letter.headers)
    assert headers[H_TRUNCATED] == b"value"
    assert headers[H_ORIGINAL_SIZE] == b"1048300"
    assert letter.key == b"C1"


def test_huge_original_headers_and_a_huge_key_are_cut_too() -> None:
    original: Headers = [("blob", b"h" * 500_000), ("more", b"h" * 500_000)]
    key = b"k" * 600_000
    letter = fit(key, b"v" * 10, original, OURS, max_bytes=DEFAULT_MAX_BYTES)
    assert record_size(letter.key, letter.value, letter.headers) <= DEFAULT_MAX_BYTES
    assert letter.key == b"k" * 256
    headers = dict(letter.headers)
    assert headers[H_TRUNCATED] == b"headers,key,value"
    assert "blob" not in headers
    assert headers[H_ORIGINAL_SIZE] == b"10"


class RefusesAbove:
    """A producer whose broker refuses records above `limit` bytes (a topic with a small max.message.bytes)."""

    def __init__(self, limit: int, *, outages: int = 0) -> None:
        self.limit = limit
        self.outages = outages
        self.sent: list[tuple[bytes | None, bytes | None, Headers]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None) -> None:
        if self.outages:
            self.outages -= 1
            raise KafkaConnectionError("broker unreachable")
        if kafka_size(key, value, headers or []) > self.limit:
            raise MessageSizeTooLargeError()
        self.sent.append((key, value, headers or []))


class Record:
    key = b"C1"
    value = b"v" * 900_000
    headers = ()
    topic = "tierflow.trade.v1"
    partition = 0
    offset = 7
    timestamp = 1


async def test_a_topic_refusing_the_size_gets_the_dead_letter_with_half_the_budget_until_it_fits() -> None:
    producer = RefusesAbove(200_000)
    letterer = DeadLetterer(producer=producer, topic="dlq", service="profile", group_id="g")  # type: ignore[arg-type]
    await letterer.send(Record(), reason="Invalid JSON", kind="contract", attempts=1)
    ((_, value, headers),) = producer.sent
    assert value is not None and 100_000 < len(value) < 200_000  # 1 MB, 500 kB, 250 kB, then 125 kB fits
    assert dict(headers)[H_TRUNCATED] == b"value"
    assert dict(headers)[H_ORIGINAL_SIZE] == b"900000"


async def test_a_topic_refusing_even_the_smallest_dead_letter_raises_for_the_loop_to_wait() -> None:
    letterer = DeadLetterer(producer=RefusesAbove(100), topic="dlq", service="profile", group_id="g")  # type: ignore[arg-type]
    with pytest.raises(MessageSizeTooLargeError):  # the loop waits for an operator
        await letterer.send(Record(), reason="Invalid JSON", kind="contract", attempts=1)
    assert MIN_MAX_BYTES > 100


async def test_an_outage_while_dead_lettering_raises_for_the_loop_to_wait() -> None:
    producer = RefusesAbove(DEFAULT_MAX_BYTES, outages=1)
    letterer = DeadLetterer(producer=producer, topic="dlq", service="profile", group_id="g")  # type: ignore[arg-type]
    with pytest.raises(KafkaConnectionError):  # the loop waits and sends again
        await letterer.send(Record(), reason="Invalid JSON", kind="contract", attempts=1)
    await letterer.send(Record(), reason="Invalid JSON", kind="contract", attempts=1)
    assert len(producer.sent) == 1
