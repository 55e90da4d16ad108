"""Reading a bounded range of topics outside any consumer group: for rebuilds and replays.

The range is fixed when reading starts (from the beginning or from the first offset at or after
a timestamp, up to the end offsets of that moment), so a replay terminates even while producers
keep writing. Messages that break the contract are counted and skipped (the live consumer
already dead-lettered them).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2

from tierflow_common.events.codec import decode_event
from tierflow_common.events.topics import Topics
from tierflow_common.exceptions import ContractViolation
from tierflow_common.kafka.delivery import Delivery

log = logging.getLogger(__name__)


def partition_for_key(key: bytes, partitions: int) -> int:
    """The partition the default (murmur2) partitioner sends `key` to."""
    return int((murmur2(key) & 0x7FFFFFFF) % partitions)


@dataclass
class ReplayRange:
    """What a replay will read: per partition, [start, end)."""

    bounds: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(end - start for start, end in self.bounds.values())


class LogReader:
    """Reads the given topics once, within a range fixed at `open()`, in per-partition order."""

    def __init__(
        self,
        client_options: dict[str, Any],
        topics: Sequence[str],
        *,
        names: Topics,
        since: datetime | None = None,
        key: bytes | None = None,
        batch_size: int = 5000,
    ) -> None:
        self._consumer = AIOKafkaConsumer(**client_options, group_id=None, enable_auto_commit=False)
        self._topics = list(topics)
        self._names = names
        self._since = since
        self._key = key
        self._batch_size = batch_size
        self.range = ReplayRange()
        self.read = 0
        """Messages read so far (for progress), whether or not they were returned."""
        self.skipped = 0
        """Messages that broke the contract (the live consumer dead-lettered them)."""

    async def open(self) -> ReplayRange:
        """Connect, assign the partitions and fix the range to read."""
        consumer = self._consumer
        await consumer.start()
        partitions: list[TopicPartition] = []
        for topic in self._topics:
            found = consumer.partitions_for_topic(topic)
            if found is None:
                await consumer.client.force_metadata_update()
                found = consumer.partitions_for_topic(topic) or set()
            ids = sorted(found)
            if self._key is not None and ids:
                ids = [partition_for_key(self._key, len(ids))]  # one key lives in one partition
            partitions += [TopicPartition(topic, p) for p in ids]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        if self._since is not None:
            found_offsets = await consumer.offsets_for_times(
                {tp: int(self._since.timestamp() * 1000) for tp in partitions}
            )
            for tp, hit in found_offsets.items():
                starts[tp] = ends[tp] if hit is None else hit.offset
        for tp in partitions:
            self.range.bounds[tp] = (starts[tp], ends[tp])
            consumer.seek(tp, starts[tp])
        return self.range

    async def batches(self) -> AsyncIterator[list[Delivery]]:
        """Decoded events in batches until every partition reached its end offset."""
        consumer = self._consumer
        pending = {tp for tp, (start, end) in self.range.bounds.items() if end > start}
        while pending:
            records = await consumer.getmany(*pending, timeout_ms=500, max_records=self._batch_size)
            batch: list[Delivery] = []
            for tp, messages in records.items():
                end = self.range.bounds[tp][1]
                for message in messages:
                    if message.offset >= end:
                        pending.discard(tp)
                        break
                    self.read += 1
                    if self._key is not None and message.key != self._key:
                        continue
                    try:
                        event = decode_event(message.value, key=message.key, base_topic=self._names.base(tp.topic))
                    except ContractViolation:
                        self.skipped += 1
                        continue
                    batch.append(
                        Delivery(
                            event=event,
                            topic=tp.topic,
                            partition=tp.partition,
                            offset=message.offset,
                            timestamp_ms=message.timestamp,
                            key=message.key,
                            value=message.value,
                        )
                    )
                if messages and messages[-1].offset >= end - 1:
                    pending.discard(tp)
            if batch:
                yield batch

    async def close(self) -> None:
        await self._consumer.stop()
