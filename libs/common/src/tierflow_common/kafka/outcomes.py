"""What the consumer loop does with a failure: the error policy, injectable per service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import Enum

import asyncpg
import redis.exceptions
from aiokafka import errors as kafka_errors
from sqlalchemy import exc as sa_exc

from tierflow_common.exceptions import ContractViolation, PermanentProcessingError


class Outcome(Enum):
    """Named outcomes of a failed attempt."""

    RETRY = "retry"
    """Try again with backoff; after the last attempt, isolate and dead-letter the event."""
    DEAD_LETTER = "dead_letter"
    """The event itself is at fault: dead-letter it now."""
    WAIT = "wait"
    """A dependency is down: keep retrying with capped backoff and never blame the event."""


ErrorPolicy = Callable[[BaseException], Outcome]

_TRANSIENT: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    asyncio.TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.NotLeaderForPartitionError,
    kafka_errors.LeaderNotAvailableError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """True when the failure is a dependency being unavailable, anywhere in the cause chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _TRANSIENT):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.orig is not None:
            inner = getattr(current.orig, "__cause__", None) or current.orig
            if isinstance(inner, _TRANSIENT):
                return True
        current = current.__cause__ or current.__context__
    return False


def default_error_policy(exc: BaseException) -> Outcome:
    """Contract and permanent errors dead-letter at once; outages wait; anything else retries."""
    if isinstance(exc, (ContractViolation, PermanentProcessingError)):
        return Outcome.DEAD_LETTER
    if is_transient(exc):
        return Outcome.WAIT
    return Outcome.RETRY
