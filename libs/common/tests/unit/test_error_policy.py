"""The consumer loop's error policy: blame the event only when the event is at fault."""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc

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
