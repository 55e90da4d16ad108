"""A round commits each partition up to its first unsettled message and hands the rest to the next round."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from aiokafka import TopicPartition

from tierflow_common.kafka.delivery import Delivery
from tierflow_common.kafka.progress import Carryover, Round
from tierflow_testing import builders as b

A = TopicPartition("t", 0)
B = TopicPartition("t", 1)
C = TopicPartition("t", 2)


def delivery(tp: TopicPartition, offset: int) -> Delivery:
    event = b.trade("C1", datetime(2026, 1, 5, tzinfo=UTC), event_id=uuid.uuid4())
    return Delivery(event=event, topic=tp.topic, partition=tp.partition, offset=offset, timestamp_ms=0)


def test_each_partition_is_committed_up_to_its_first_unsettled_message() -> None:
    round_ = Round({A: [10, 11, 12], B: [5, 6], C: [7]}, deadline=time.monotonic() + 60)
    for where in [(A, 10), (A, 12), (B, 5), (B, 6)]:  # A:11 is not settled; nothing of C is
        round_.settle(where)
    assert round_.commit_offsets() == {A: 11, B: 7}
    assert round_.rewind() == {A: 11, C: 7}


def test_a_round_is_out_of_time_only_after_it_tried_something() -> None:
    round_ = Round({A: [1]}, deadline=time.monotonic() - 1)
    assert not round_.out_of_time()  # every round makes at least one attempt: progress
    round_.attempted = True
    assert round_.out_of_time()


def test_the_carryover_isolates_what_failed_and_forgets_what_is_committed() -> None:
    carry = Carryover()
    failed = [delivery(A, 10), delivery(A, 11), delivery(B, 3)]
    carry.isolate(failed)
    assert all(carry.isolating(d) for d in failed)
    assert not carry.isolating(delivery(A, 12))
    carry.failures[(A, 11)] = (2, "ValueError: bad")
    carry.dead_lettered |= {(A, 10), (B, 3)}

    carry.committed({A: 11})
    assert carry.dead_lettered == {(B, 3)}
    assert carry.failures == {(A, 11): (2, "ValueError: bad")}
    assert carry.isolating(delivery(A, 11))

    carry.keep_only([A])  # B went to another member in a rebalance
    assert carry.dead_lettered == set()
    assert not carry.isolating(delivery(B, 3))
    carry.committed({A: 12})
    assert carry == Carryover()
