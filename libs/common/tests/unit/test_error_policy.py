"""The consumer loop's error policy: blame the event only when the event is at fault."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka import errors as kafka_errors
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import asyncpg as sa_asyncpg

from tierflow_common.exceptions import ContractViolation, PermanentProcessingError
from tierflow_common.kafka.outcomes import Outcome, default_error_policy


def test_contract_and_permanent_errors_dead_letter_at_once() -> None:
    assert default_error_policy(ContractViolation("bad")) is Outcome.DEAD_LETTER
    assert default_error_policy(PermanentProcessingError("never")) is Outcome.DEAD_LETTER


def test_an_unreachable_database_waits_instead_of_blaming_the_event() -> None:
    assert default_error_policy(ConnectionRefusedError()) is Outcome.WAIT
    assert default_error_policy(asyncpg.CannotConnectNowError("starting")) is Outcome.WAIT


def test_a_wrapped_connection_error_anywhere_in_the_chain_waits() -> None:
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError as inner:
            raise sa_exc.OperationalError("SELECT 1", {}, inner) from inner
    except sa_exc.OperationalError as outer:
        assert default_error_policy(outer) is Outcome.WAIT


def test_anything_else_is_retried_then_isolated() -> None:
    assert default_error_policy(ValueError("bug")) is Outcome.RETRY
    assert default_error_policy(KeyError("x")) is Outcome.RETRY


# Faults that are the database's or the broker's state, never the event's (issue 11, item 5). The
# exceptions are the real classes the drivers raise, and the SQLAlchemy wrapping is the real one of
# its asyncpg dialect, as a batch processor on SQLAlchemy sees it.
SERVER_REFUSALS = [
    asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),  # 25006
    asyncpg.DiskFullError("could not extend file: No space left on device"),  # 53100
    asyncpg.OutOfMemoryError("out of memory"),  # 53200
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),  # 57014
    asyncpg.LockNotAvailableError("canceling statement due to lock timeout"),  # 55P03
    asyncpg.SerializationError("could not serialize access due to concurrent update"),  # 40001
    asyncpg.DeadlockDetectedError("deadlock detected"),  # 40P01
    asyncpg.IdleInTransactionSessionTimeoutError("terminating connection due to idle-in-transaction timeout"),
    asyncpg.PostgresIOError("could not read block"),  # 58030
]

KAFKA_REFUSALS_OF_OUTPUTS = [
    kafka_errors.TopicAuthorizationFailedError(),
    kafka_errors.ClusterAuthorizationFailedError(),
    kafka_errors.MessageSizeTooLargeError("The message is 1100000 bytes when serialized"),
    kafka_errors.RecordListTooLargeError(),
    kafka_errors.NotEnoughReplicasError(),  # fewer in-sync replicas than min.insync.replicas
    kafka_errors.NotEnoughReplicasAfterAppendError(),
    kafka_errors.UnknownTopicOrPartitionError(),
]


def wrapped_by_sqlalchemy(error: Exception) -> sa_exc.DBAPIError:
    """What SQLAlchemy's asyncpg dialect raises for `error`: DBAPIError from the dialect's Error from it."""
    dbapi = sa_asyncpg.AsyncAdapt_asyncpg_dbapi(asyncpg)
    try:
        try:
            raise error
        except Exception as raised:
            sa_asyncpg.AsyncAdapt_asyncpg_connection._handle_exception_no_connection(dbapi, raised)
    except dbapi.Error as translated:
        try:
            raise sa_exc.DBAPIError.instance("INSERT INTO processed_events ...", {}, translated, dbapi.Error) from (
                translated
            )
        except sa_exc.DBAPIError as outer:
            return outer
    raise AssertionError("the dialect did not translate the error")


@pytest.mark.parametrize("error", SERVER_REFUSALS, ids=lambda e: f"{type(e).__name__}-{e.sqlstate}")
def test_a_database_refusing_work_waits_instead_of_dead_lettering_valid_events(error: Exception) -> None:
    assert default_error_policy(error) is Outcome.WAIT
    assert default_error_policy(wrapped_by_sqlalchemy(error)) is Outcome.WAIT


@pytest.mark.parametrize("error", KAFKA_REFUSALS_OF_OUTPUTS, ids=lambda e: type(e).__name__)
def test_kafka_refusing_outputs_waits_instead_of_dead_lettering_valid_events(error: Exception) -> None:
    assert default_error_policy(error) is Outcome.WAIT
    try:
        try:
            raise error
        except kafka_errors.KafkaError as inner:
            raise RuntimeError("publishing the batch's outputs failed") from inner
    except RuntimeError as outer:
        assert default_error_policy(outer) is Outcome.WAIT


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),  # 23505
        asyncpg.NotNullViolationError("null value in column"),  # 23502
        asyncpg.InvalidTextRepresentationError("invalid input syntax for type uuid"),  # 22P02
        asyncpg.NumericValueOutOfRangeError("numeric field overflow"),  # 22003
        asyncpg.UndefinedColumnError("column does not exist"),  # 42703: a bug, retried then isolated
    ],
    ids=lambda e: f"{type(e).__name__}-{e.sqlstate}",
)
def test_a_statement_the_data_makes_fail_is_still_retried_then_isolated(error: Exception) -> None:
    assert default_error_policy(error) is Outcome.RETRY
    assert default_error_policy(wrapped_by_sqlalchemy(error)) is Outcome.RETRY


def test_a_kafka_error_about_the_request_itself_is_retried_then_isolated() -> None:
    assert default_error_policy(kafka_errors.InvalidTopicError()) is Outcome.RETRY
    assert default_error_policy(kafka_errors.CorruptRecordException()) is Outcome.RETRY
