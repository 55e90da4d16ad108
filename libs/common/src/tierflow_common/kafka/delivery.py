"""What the consumer loop hands a service and what the service answers: deliveries, outcomes, the batch processor."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from tierflow_common.events.envelope import Event


@dataclass(frozen=True, slots=True)
class Delivery:
    """A decoded event and where it came from."""

    event: Event
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None = field(default=None, repr=False)
    value: bytes | None = field(default=None, repr=False)
    headers: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a batch processor reports about a batch it committed.

    `duplicates`: events recognised as already applied. `rejected`: events the service's own rules
    refuse (not applied, not recorded), with the reason; the loop dead-letters them (kind `rejected`).
    `conflicts`: events whose id was applied before with another content (the same `event_id`, other
    bytes): not applied again, dead-lettered with the reason (kind `conflict`).
    """

    duplicates: Collection[UUID] = frozenset()
    rejected: Mapping[UUID, str] = field(default_factory=dict)
    conflicts: Mapping[UUID, str] = field(default_factory=dict)


class BatchProcessor(Protocol):
    """What a service plugs into the loop."""

    async def process(self, deliveries: Sequence[Delivery]) -> BatchOutcome:
        """Apply the batch's effects durably (one transaction) and publish outputs.

        Raising leaves nothing committed; the loop retries or isolates per its error policy.
        """
        ...

    async def on_assigned(self) -> None:
        """Prepare after a start or rebalance (e.g. publish outbox leftovers)."""
        ...
