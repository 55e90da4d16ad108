"""The producer: acks=all, keyed by customer_id, no idempotence (the embedded broker rejects it)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

Headers = list[tuple[str, bytes]]


class Message(Protocol):
    """Anything with a concrete topic, a key and a value."""

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


class EventProducer:
    """Sends encoded events and raw messages; every send waits for the broker's acknowledgement."""

    def __init__(self, client_options: dict[str, Any], *, linger_ms: int = 5, client_id: str = "tierflow") -> None:
        self._producer = AIOKafkaProducer(
            **client_options,
            client_id=client_id,
            acks="all",
            enable_idempotence=False,
            linger_ms=linger_ms,
            max_batch_size=256 * 1024,
            request_timeout_ms=30000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None) -> None:
        """Send one message and wait until the broker has it."""
        future = await self._producer.send(topic, key=key, value=value, headers=headers)
        await future

    async def send_all(self, messages: Sequence[Message]) -> None:
        """Send many messages (per-key order preserved) and wait for every acknowledgement."""
        futures = [await self._producer.send(m.topic, key=m.key, value=m.value) for m in messages]
        if futures:
            await asyncio.gather(*futures)

    async def check(self) -> None:
        """Raise unless the cluster answers a metadata request."""
        await self._producer.client.fetch_all_metadata()

    async def flush(self) -> None:
        await self._producer.flush()
