"""Producing to and reading back from the real broker in tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tierflow_common.events import Envelope, encode_event
from tierflow_common.kafka.producer import EventProducer


async def produce(bootstrap: str, topic: str, events: Iterable[Envelope | tuple[bytes | None, bytes | None]]) -> int:
    """Send events (models, or raw (key, value) pairs) to a topic and wait for the acks."""
    producer = EventProducer({"bootstrap_servers": bootstrap}, linger_ms=1)
    await producer.start()
    count = 0
    try:
        for event in events:
            if isinstance(event, tuple):
                await producer.send(topic, event[0], event[1])
            else:
                await producer.send(topic, event.customer_id.encode(), encode_event(event))
            count += 1
    finally:
        await producer.stop()
    return count


async def read_topic(bootstrap: str, topic: str, *, min_count: int = 0, timeout_s: float = 30.0) -> list[Any]:
    """All records of a topic from the start (no consumer group), waiting until at least `min_count`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_s
        partitions: set[int] | None = None
        while partitions is None and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                await consumer._client.force_metadata_update()
                await asyncio.sleep(0.1)
        if not partitions:
            return records
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while time.monotonic() < deadline:
            end = await consumer.end_offsets(tps)
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                records.extend(messages)
            positions = {tp: await consumer.position(tp) for tp in tps}
            caught_up = all(positions[tp] >= end[tp] for tp in tps)
            if caught_up and len(records) >= min_count:
                break
    finally:
        await consumer.stop()
    return records


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int | None]:
    """The group's committed offset per partition (None where nothing was committed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in sorted(partitions)}
    finally:
        await consumer.stop()


async def wait_until(
    predicate: Callable[[], Awaitable[bool]],
    *,
    timeout_s: float = 60.0,
    interval_s: float = 0.2,
    what: str = "condition",
) -> None:
    """Poll an async predicate until it holds; fail with `what` after `timeout_s` (a liveness bound)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


async def group_members(bootstrap: str, group: str) -> tuple[str, int]:
    """The consumer group's state (e.g. "Stable") and how many members it has."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
        _, _, state, _, _, members = response.groups[0]
        return str(state), len(members)
    finally:
        await admin.close()


async def group_lag(bootstrap: str, group: str, topics: Iterable[str]) -> int:
    """Messages on `topics` after the group's committed offsets, up to 50,000 (never committed: from the start).

    Counted by fetching from the committed offsets, not from the broker's reported end offsets: the
    embedded broker (tansu, memory storage) can report a stale end offset after it was paused, below
    offsets it has already served.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
    )
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in topics:
            found = consumer.partitions_for_topic(topic)
            if found is None:
                await consumer._client.force_metadata_update()
                found = consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, p) for p in sorted(found)]
        if not partitions:
            return 0
        committed = {tp: await consumer.committed(tp) or 0 for tp in partitions}
        consumer.assign(partitions)
        for tp, offset in committed.items():
            consumer.seek(tp, offset)
        lag = 0
        while True:
            batch = await consumer.getmany(timeout_ms=300, max_records=100_000)
            fetched = sum(len(messages) for messages in batch.values())
            lag += fetched
            if not fetched or lag >= 50_000:  # enough to know it is far behind
                return lag
    finally:
        await consumer.stop()
