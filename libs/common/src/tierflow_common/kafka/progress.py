"""Where a poll round stands: which fetched messages are settled, and what it hands to the next round.

A round is what the consumer loop does with one `getmany`: it must end well within
`max.poll.interval.ms`, or the member is evicted and its batch handed to another. When time runs
out, the loop commits each partition up to its first unsettled message, seeks back there and polls
again; the `Carryover` makes the next round resume where this one stopped (isolating event by event
at once, with the attempts already made) and keeps it from dead-lettering a message twice.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from aiokafka import TopicPartition

from tierflow_common.kafka.delivery import Delivery

Position = tuple[TopicPartition, int]


def position(delivery: Delivery) -> Position:
    """Where a delivery was read: its partition and offset."""
    return TopicPartition(delivery.topic, delivery.partition), delivery.offset


@dataclass
class Carryover:
    """What a round that stopped early leaves for the rounds that re-read the same offsets."""

    isolate_until: dict[TopicPartition, int] = field(default_factory=dict)
    """Offsets below this are processed event by event at once (their batch already failed)."""
    failures: dict[Position, tuple[int, str]] = field(default_factory=dict)
    """Failed attempts so far, and the last reason, of an event being isolated."""
    dead_lettered: set[Position] = field(default_factory=set)
    """Messages already sent to the dead-letter topic but not yet committed past."""

    def isolating(self, delivery: Delivery) -> bool:
        tp, offset = position(delivery)
        return offset < self.isolate_until.get(tp, -1)

    def isolate(self, deliveries: Iterable[Delivery]) -> None:
        """Remember that these deliveries' batch failed: re-read, they are isolated at once."""
        for delivery in deliveries:
            tp, offset = position(delivery)
            self.isolate_until[tp] = max(self.isolate_until.get(tp, -1), offset + 1)

    def committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Forget what lies below committed offsets: it is never read again by this group."""
        for tp, offset in offsets.items():
            if self.isolate_until.get(tp, -1) <= offset:
                self.isolate_until.pop(tp, None)
        self.failures = {p: f for p, f in self.failures.items() if p[1] >= offsets.get(p[0], -1)}
        self.dead_lettered = {p for p in self.dead_lettered if p[1] >= offsets.get(p[0], -1)}

    def keep_only(self, assigned: Collection[TopicPartition]) -> None:
        """After a rebalance: what is known about partitions now read by others is stale."""
        kept = set(assigned)
        self.isolate_until = {tp: o for tp, o in self.isolate_until.items() if tp in kept}
        self.failures = {p: f for p, f in self.failures.items() if p[0] in kept}
        self.dead_lettered = {p for p in self.dead_lettered if p[0] in kept}


class Round:
    """The messages of one poll, which of them are settled, and the round's deadline.

    A message is settled once its effects are committed, it was recognised as a duplicate, or it
    was dead-lettered. `out_of_time()` holds only after at least one attempt, so every round makes
    progress (each isolated event's attempts are carried over).
    """

    def __init__(self, offsets: Mapping[TopicPartition, Sequence[int]], *, deadline: float) -> None:
        self._offsets = {tp: list(found) for tp, found in offsets.items() if found}
        self._settled: set[Position] = set()
        self._deadline = deadline
        self.attempted = False
        self.duplicates: set[UUID] = set()
        self.dead: set[UUID] = set()

    def out_of_time(self) -> bool:
        """True once the round has tried something and its time is up."""
        return self.attempted and time.monotonic() >= self._deadline

    def settle(self, where: Position) -> None:
        self._settled.add(where)

    def settle_deliveries(self, deliveries: Iterable[Delivery]) -> None:
        for delivery in deliveries:
            self._settled.add(position(delivery))

    def is_settled(self, delivery: Delivery) -> bool:
        return position(delivery) in self._settled

    def _first_unsettled(self, tp: TopicPartition) -> int | None:
        return next((offset for offset in self._offsets[tp] if (tp, offset) not in self._settled), None)

    def commit_offsets(self) -> dict[TopicPartition, int]:
        """Per partition that advanced, the offset to commit: its first unsettled message, or past the last."""
        offsets: dict[TopicPartition, int] = {}
        for tp, found in self._offsets.items():
            first = self._first_unsettled(tp)
            if first is None:
                offsets[tp] = found[-1] + 1
            elif first > found[0]:
                offsets[tp] = first
        return offsets

    def rewind(self) -> dict[TopicPartition, int]:
        """Per partition with unsettled messages, where to read again from."""
        rewind: dict[TopicPartition, int] = {}
        for tp in self._offsets:
            first = self._first_unsettled(tp)
            if first is not None:
                rewind[tp] = first
        return rewind
