"""The content hash beside each inbox id, and how a batch splits into fresh, duplicate and conflicting
copies: pure functions, no database."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import orjson

from tierflow_common.db.inbox import delivery_hash, split_claim
from tierflow_common.events import encode_event
from tierflow_common.events.content import canonical_json, content_hash
from tierflow_common.kafka.delivery import Delivery
from tierflow_testing import builders as b

AT = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)


def test_the_hash_is_sha256_of_the_canonical_json_key_order_and_whitespace_aside() -> None:
    compact = b'{"b":1,"a":{"d":"x","c":[true,null]}}'
    spaced = b'{ "a" : { "c" : [ true , null ] , "d" : "x" } ,\n "b" : 1 }'
    assert canonical_json(spaced) == b'{"a":{"c":[true,null],"d":"x"},"b":1}'
    assert content_hash(spaced) == content_hash(compact) == hashlib.sha256(canonical_json(compact)).digest()


def test_every_value_counts_as_written() -> None:
    base = {"occurred_at": "2026-11-20T09:31:02+08:00", "payload": {"commission": "34.50"}}
    other_offset = {**base, "occurred_at": "2026-11-20T01:31:02Z"}
    other_decimals = {**base, "payload": {"commission": "34.5"}}
    hashes = {content_hash(orjson.dumps(v)) for v in (base, other_offset, other_decimals)}
    assert len(hashes) == 3


def test_canonical_strings_escape_only_what_json_requires() -> None:
    assert canonical_json('{"k":"é/\\u0001\\n"}'.encode()) == '{"k":"é/\\u0001\\n"}'.encode()


def test_a_value_that_is_not_json_is_hashed_as_it_is() -> None:
    assert content_hash(b"\xff not json") == hashlib.sha256(b"\xff not json").digest()


def delivery(event: object, offset: int, value: bytes | None = None) -> Delivery:
    encoded = encode_event(event) if value is None else value  # type: ignore[arg-type]
    return Delivery(event=event, topic="t.trade", partition=0, offset=offset, timestamp_ms=0, value=encoded)  # type: ignore[arg-type]


def test_a_batch_splits_into_fresh_duplicates_and_conflicts() -> None:
    fresh = b.trade("C1", AT, commission="2.00")
    again = b.trade("C1", AT, commission="2.00", event_id=fresh.event_id)  # a producer retry, same content
    altered = b.trade("C1", AT, commission="9.00", event_id=fresh.event_id)
    old = b.trade("C1", AT, commission="1.00")
    old_altered = b.trade("C1", AT, commission="7.00", event_id=old.event_id)
    legacy = b.trade("C1", AT)
    deliveries = [
        delivery(fresh, 1),
        delivery(again, 2, orjson.dumps(orjson.loads(encode_event(fresh)), option=orjson.OPT_INDENT_2)),
        delivery(altered, 3),
        delivery(old_altered, 4),
        delivery(legacy, 5),
    ]
    hashes = [delivery_hash(d) for d in deliveries]
    held = {old.event_id: content_hash(encode_event(old)), legacy.event_id: None}
    claim = split_claim(deliveries, hashes, {fresh.event_id}, held)
    assert claim.fresh == [fresh]
    assert claim.duplicates == {fresh.event_id, legacy.event_id}  # reformatted, or stored before hashes: duplicates
    assert set(claim.conflicts) == {fresh.event_id, old.event_id}
    assert "applied earlier in this batch, at t.trade[0]@1" in claim.conflicts[fresh.event_id]
    assert "the copy at t.trade[0]@3" in claim.conflicts[fresh.event_id]
    assert claim.conflicts[old.event_id].startswith("event_id was applied before with other content (sha256 ")
    assert "9.00" not in claim.conflicts[fresh.event_id]  # a reason never echoes the content


def test_without_kept_bytes_the_encoded_event_is_hashed() -> None:
    event = b.login("C1", AT)
    bare = Delivery(event=event, topic="t.login", partition=0, offset=0, timestamp_ms=0)
    assert delivery_hash(bare) == content_hash(encode_event(event))
    assert split_claim([bare], [delivery_hash(bare)], {uuid.uuid4()}, {}).duplicates == {event.event_id}
