"""An exception as text that may leave the process (a dead letter's reason header, a log line) without data.

`str()` of a SQLAlchemy error carries the statement and its bound parameters (`[SQL: ...]`,
`[parameters: (...)]`: customer ids, balances, whole rows), and PostgreSQL's `DETAIL:` line echoes
the values of a row (`Key (customer_id)=(C123) already exists`, `Failing row contains (...)`);
asyncpg names the value it could not encode (`invalid input for query argument $2: 'C123' (...)`).
Dead letters are read by people and kept for weeks, so their reasons keep the error's class and
message and lose those parts.
"""

from __future__ import annotations

import re

_STATEMENT = re.compile(r"(?:^|\n)\[(?:SQL: |SQL parameters hidden|parameters: )")
_DETAIL_LINE = re.compile(r"^\s*DETAIL:.*$\n?", re.MULTILINE)
_QUERY_ARGUMENT = re.compile(r"(query argument \$\d+): .*$", re.MULTILINE)
REDACTED = "<value not shown>"


def safe_text(message: str) -> str:
    """`message` without SQL statements, bound parameters, PostgreSQL DETAIL lines or rejected argument values."""
    statement = _STATEMENT.search(message)
    if statement is not None:  # SQLAlchemy appends [SQL: ...], [parameters: ...] and a link after the message
        message = message[: statement.start()]
    message = _DETAIL_LINE.sub("", message)
    message = _QUERY_ARGUMENT.sub(rf"\1: {REDACTED}", message)
    return message.strip()


def safe_reason(exc: BaseException) -> str:
    """`ClassName: message` of an exception, through `safe_text`: what a dead letter's reason may say."""
    return f"{type(exc).__name__}: {safe_text(str(exc))}"
