"""What the consumer loop does with a failure: the error policy, injectable per service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
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
    """A dependency is down or refuses work for a reason of its own: keep retrying with capped
    backoff and never blame the event."""


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

# Kafka refusals that are about our configuration or the cluster, never about the event: every
# Kafka call inside a batch produces OUTPUTS (or dead letters), so an operator has to act (grant
# the ACL, raise the topic's max.message.bytes) and the loop waits for it.
_KAFKA_REFUSALS: tuple[type[BaseException], ...] = (
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.ClusterAuthorizationFailedError,
    kafka_errors.GroupAuthorizationFailedError,
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.KafkaUnavailableError,
    kafka_errors.NodeNotReadyError,
)

# PostgreSQL conditions (SQLSTATE) that say the server cannot do the work right now, whatever
# the statement: the event is valid, the database is not (yet) able to take it.
_WAIT_SQLSTATE_CLASSES = frozenset(
    {
        "08",  # connection exception
        "40",  # transaction rollback: serialization failure 40001, deadlock 40P01, ...
        "53",  # insufficient resources: disk full 53100, out of memory 53200, too many connections 53300
        "58",  # system error outside PostgreSQL: I/O error 58030
    }
)
_WAIT_SQLSTATES = frozenset(
    {
        "25006",  # read_only_sql_transaction: a hot standby, or the old primary after a failover
        "25P03",  # idle_in_transaction_session_timeout: our session was ended, not the event's fault
        "55P03",  # lock_not_available (lock_timeout)
        "57014",  # query_canceled (statement_timeout, pg_cancel_backend)
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, recovering)
        "57P04",  # database_dropped
        "57P05",  # idle_session_timeout
    }
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and what SQLAlchemy wrapped (`orig`), each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, sa_exc.DBAPIError) and isinstance(current.orig, BaseException):
            pending.append(current.orig)
        for linked in (current.__context__, current.__cause__):
            if linked is not None:
                pending.append(linked)


def sqlstate_waits(sqlstate: str | None) -> bool:
    """True for a PostgreSQL condition that is the server's state, not the statement's fault."""
    if not sqlstate or len(sqlstate) != 5:
        return False
    return sqlstate in _WAIT_SQLSTATES or sqlstate[:2] in _WAIT_SQLSTATE_CLASSES


def is_transient(exc: BaseException) -> bool:
    """True when the failure is a dependency's, not the event's, anywhere in the cause chain.

    A dependency that is unreachable (connection refused or reset, timeouts, PostgreSQL starting or
    shutting down, Kafka or Redis not reachable), or that answers but refuses work for a reason of its
    own: PostgreSQL read-only after a failover, disk full, out of memory, statement cancelled, lock
    timeout, serialization failure or deadlock; Kafka refusing our outputs (authorization, message
    size) or having too few in-sync replicas (any retriable Kafka error).
    """
    for current in _chain(exc):
        if isinstance(current, _TRANSIENT + _KAFKA_REFUSALS):
            return True
        if isinstance(current, kafka_errors.KafkaError) and getattr(current, "retriable", False):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate_waits(sqlstate):
            return True
    return False


def default_error_policy(exc: BaseException) -> Outcome:
    """Contract and permanent errors dead-letter at once; dependency faults wait; anything else retries."""
    if isinstance(exc, (ContractViolation, PermanentProcessingError)):
        return Outcome.DEAD_LETTER
    if is_transient(exc):
        return Outcome.WAIT
    return Outcome.RETRY
