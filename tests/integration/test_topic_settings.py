"""`tierflow topics` and `ensure_topics` on the real broker: min.insync.replicas on every topic, a long
retention on the dead-letter topic (the broker's default week would lose dead letters mid-investigation)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tierflow_common.events.topics import DEAD_LETTER, Topics
from tierflow_common.kafka.admin import ensure_topics
from tierflow_testing.plugin import Namespace

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


async def settings_of(bootstrap: str, topics: list[str]) -> dict[str, dict[str, str]]:
    """Each topic's settings as the broker reports them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    finally:
        await admin.close()
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        for _code, _message, _type, name, entries in response.resources:
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def test_ensure_topics_sets_min_insync_replicas_and_a_long_dead_letter_retention(ns: Namespace) -> None:
    topics = Topics(f"{ns.name}-created.")
    created = await ensure_topics({"bootstrap_servers": ns.infra.kafka_bootstrap}, topics.all, partitions=2)
    assert sorted(created) == sorted(topics.all)
    found = await settings_of(ns.infra.kafka_bootstrap, list(topics.all))
    assert found[topics.name(DEAD_LETTER)]["retention.ms"] == str(90 * DAY_MS)
    assert all(found[name]["min.insync.replicas"] == "1" for name in topics.all)  # one replica here


async def test_the_cli_creates_topics_with_the_settings_asked_for(ns: Namespace) -> None:
    prefix = f"{ns.name}-cli."
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": ns.infra.kafka_bootstrap, "TIERFLOW_TOPIC_PREFIX": prefix}
    command = [
        sys.executable,
        "-m",
        "tierflow_cli",
        "topics",
        "--partitions",
        "2",
        "--dead-letter-retention-days",
        "30",
    ]
    result = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    topics = Topics(prefix)
    found = await settings_of(ns.infra.kafka_bootstrap, list(topics.all))
    assert found[topics.name(DEAD_LETTER)]["retention.ms"] == str(30 * DAY_MS)
    assert {found[name]["min.insync.replicas"] for name in topics.all} == {"1"}

    refused = [
        sys.executable,
        "-m",
        "tierflow_cli",
        "topics",
        "--replication-factor",
        "1",
        "--min-insync-replicas",
        "2",
    ]
    result = await asyncio.to_thread(subprocess.run, refused, env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "replication factor" in result.stdout
