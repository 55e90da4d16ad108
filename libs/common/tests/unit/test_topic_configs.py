"""Topics are created with min.insync.replicas, and the dead-letter topic with a long retention."""

from __future__ import annotations

import pytest

from tierflow_common.events.topics import Topics
from tierflow_common.kafka.admin import DEAD_LETTER_RETENTION_DAYS, default_min_insync_replicas, topic_configs

DAY_MS = 86_400_000


def test_three_replicas_need_two_in_sync_fewer_need_one() -> None:
    assert [default_min_insync_replicas(r) for r in (1, 2, 3, 5)] == [1, 1, 2, 2]


def test_every_topic_gets_min_insync_replicas_and_only_the_dead_letter_topic_a_long_retention() -> None:
    names = Topics("tenant.")
    for name in names.all:
        configs = topic_configs(
            name, replication=3, min_insync_replicas=None, dead_letter_retention_days=DEAD_LETTER_RETENTION_DAYS
        )
        if name == "tenant.tierflow.dlq.v1":
            assert configs == {"min.insync.replicas": "2", "retention.ms": str(90 * DAY_MS)}
        else:
            assert configs == {"min.insync.replicas": "2"}  # the broker's retention for the others


def test_the_settings_are_configurable_and_checked() -> None:
    dlq = "tierflow.dlq.v1"
    assert topic_configs(dlq, replication=3, min_insync_replicas=3, dead_letter_retention_days=365) == {
        "min.insync.replicas": "3",
        "retention.ms": str(365 * DAY_MS),
    }
    with pytest.raises(ValueError, match="replication factor"):
        topic_configs(dlq, replication=1, min_insync_replicas=2, dead_letter_retention_days=90)
    with pytest.raises(ValueError, match="positive"):
        topic_configs(dlq, replication=1, min_insync_replicas=None, dead_letter_retention_days=0)
