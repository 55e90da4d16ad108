"""Topic administration: create the contract's topics with their partitions, replicas and settings.

Every topic gets `min.insync.replicas` (2 with three or more replicas: an acknowledged write then
survives the loss of a broker, and one broker may be down without stopping producers); the
dead-letter topic keeps its messages `dead_letter_retention_days` (90 by default) instead of the
broker's default week, so a dead letter outlives the investigation and the fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from tierflow_common.events.topics import DEAD_LETTER

log = logging.getLogger(__name__)

DEAD_LETTER_RETENTION_DAYS = 90
MS_PER_DAY = 86_400_000


def default_min_insync_replicas(replication: int) -> int:
    """2 with three replicas or more; 1 below (with two, requiring both would stop writes during any outage)."""
    return max(1, min(2, replication - 1))


def topic_configs(
    name: str, *, replication: int, min_insync_replicas: int | None, dead_letter_retention_days: float
) -> dict[str, str]:
    """The settings a new contract topic is created with."""
    min_insync = default_min_insync_replicas(replication) if min_insync_replicas is None else min_insync_replicas
    if not 1 <= min_insync <= replication:
        raise ValueError(
            f"min.insync.replicas ({min_insync}) must be between 1 and the replication factor ({replication})"
        )
    configs = {"min.insync.replicas": str(min_insync)}
    if name.endswith(DEAD_LETTER):
        if dead_letter_retention_days <= 0:
            raise ValueError("the dead-letter retention must be a positive number of days")
        configs["retention.ms"] = str(int(dead_letter_retention_days * MS_PER_DAY))
    return configs


async def ensure_topics(
    client_options: dict[str, Any],
    topics: Iterable[str],
    *,
    partitions: int = 6,
    replication: int = 1,
    min_insync_replicas: int | None = None,
    dead_letter_retention_days: float = DEAD_LETTER_RETENTION_DAYS,
) -> list[str]:
    """Create the topics that do not exist yet (existing ones are left alone); return the names created."""
    topics = list(topics)
    configs = {
        name: topic_configs(
            name,
            replication=replication,
            min_insync_replicas=min_insync_replicas,
            dead_letter_retention_days=dead_letter_retention_days,
        )
        for name in topics
    }
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
                    [
                        NewTopic(
                            name, num_partitions=partitions, replication_factor=replication, topic_configs=configs[name]
                        )
                        for name in missing
                    ]
                )
            except TopicAlreadyExistsError:
                return []
            for topic, code, message in getattr(response, "topic_errors", []):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create topic {topic}: error {code} {message}")
            log.info("topics created", extra={"topics": missing, "partitions": partitions, "replication": replication})
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
