"""Topic administration: create the contract's topics with the wanted partition count."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

log = logging.getLogger(__name__)


async def ensure_topics(
    client_options: dict[str, Any], topics: Iterable[str], *, partitions: int = 6, replication: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(**client_options)
    for attempt in range(50):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                response = await admin.create_topics(
                    [NewTopic(name, num_partitions=partitions, replication_factor=replication) for name in missing]
                )
            except TopicAlreadyExistsError:
                return []
            for topic, code, message in getattr(response, "topic_errors", []):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create topic {topic}: error {code} {message}")
            log.info("topics created", extra={"topics": missing, "partitions": partitions})
        return missing
    finally:
        await admin.close()


async def group_progress(client_options: dict[str, Any], group: str, topics: Iterable[str]) -> tuple[int, int]:
    """(sum of the group's committed offsets, sum of end offsets) over the topics' partitions."""
    consumer = AIOKafkaConsumer(**client_options, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions: list[TopicPartition] = []
        for topic in topics:
            found = consumer.partitions_for_topic(topic)
            if found is None:
                await consumer.client.force_metadata_update()
                found = consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, p) for p in sorted(found)]
        if not partitions:
            return 0, 0
        ends = await consumer.end_offsets(partitions)
        committed = 0
        for tp in partitions:
            committed += await consumer.committed(tp) or 0
        return committed, sum(ends.values())
    finally:
        await consumer.stop()
