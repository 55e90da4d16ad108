"""Dead-letter reasons: an error's class and message, never the SQL, its bound parameters or the values of a row."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa

from tierflow_common.errors_text import REDACTED, safe_reason, safe_text

BULK = "INSERT INTO routing.customers (customer_id, state)\nSELECT * FROM unnest($1::text[], $2::bytea[])"


class AsyncpgError(Exception):
    """What the asyncpg dialect wraps (its text includes PostgreSQL's DETAIL line)."""


def integrity_error() -> sa.IntegrityError:
    orig = AsyncpgError(
        "<class 'asyncpg.exceptions.UniqueViolationError'>: duplicate key value violates unique constraint "
        '"customers_pkey"\nDETAIL:  Key (customer_id)=(C000123) already exists.'
    )
    return sa.IntegrityError(BULK, (["C000123", "C000124"], [b"\x01"]), orig)


def test_sqlalchemy_statement_and_parameters_are_left_out() -> None:
    reason = safe_reason(integrity_error())
    assert reason.startswith(f"IntegrityError: ({AsyncpgError.__module__}.AsyncpgError) <class 'asyncpg")
    assert reason.endswith('duplicate key value violates unique constraint "customers_pkey"')
    assert "C000123" not in reason and "[SQL" not in reason and "unnest" not in reason


@pytest.mark.parametrize(
    "error",
    [
        sa.StatementError("could not bind", "UPDATE t SET a = $1", {"a": "C000123"}, None),
        sa.DBAPIError("SELECT $1", ("C000123",), AsyncpgError("invalid input for query argument $1: 'C000123' (x)")),
        sa.DataError("SELECT $1", [("C000123",), ("C000124",)], AsyncpgError("value too long"), hide_parameters=True),
        sa.OperationalError("", {"customer_id": "C000123"}, AsyncpgError("")),
    ],
    ids=["statement error", "rejected argument", "executemany, parameters hidden", "empty message"],
)
def test_no_bound_parameter_survives(error: sa.StatementError) -> None:
    reason = safe_reason(error)
    assert "C000123" not in reason and "C000124" not in reason, reason
    assert "[SQL" not in reason and "[parameters" not in reason, reason
    assert reason.startswith(f"{type(error).__name__}:")


def test_a_rejected_argument_keeps_its_position_but_not_its_value() -> None:
    text = "invalid input for query argument $2: 'C000123' ('str' object cannot be interpreted as an integer)"
    assert safe_text(text) == f"invalid input for query argument $2: {REDACTED}"


def test_postgres_detail_lines_are_dropped_and_hints_kept() -> None:
    text = 'new row violates check constraint "x"\nDETAIL:  Failing row contains (C000123, 5).\nHINT:  check x.'
    assert safe_text(text) == 'new row violates check constraint "x"\nHINT:  check x.'


def test_an_ordinary_error_keeps_its_whole_message() -> None:
    assert safe_reason(ValueError("tier Z is not a tier [A-D]")) == "ValueError: tier Z is not a tier [A-D]"
    assert safe_reason(KeyError("C1")) == "KeyError: 'C1'"
