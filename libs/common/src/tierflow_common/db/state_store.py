"""The per-customer state store: one MessagePack document per customer beside a few indexed columns.

Generic over a table, a msgspec codec and the extra columns derived from each state. The hot-path
statements are asyncpg array statements written once here from the SQLAlchemy `Table` (whose column
types give the array casts), so a batch costs one round trip each way whatever its size:

- `load_for_update` locks the customers' rows in customer-id order, so two processes that overlap
  during a rebalance serialise per customer instead of deadlocking;
- `due_for_review_for_update` locks rows whose review time has passed, skipping rows another
  process holds, so several sweepers share the work;
- `save` upserts a whole batch with one `unnest` statement.

The store works inside the caller's transaction, on a SQLAlchemy `AsyncConnection` or on the
asyncpg connection of a hot path that runs its own transaction (`engine.raw_connection`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeAlias, TypeVar

import asyncpg
import msgspec
from sqlalchemy import ColumnElement, Table, or_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.db.engine import driver_connection

S = TypeVar("S")
W = TypeVar("W")

Connection: TypeAlias = "AsyncConnection | asyncpg.Connection"
"""A SQLAlchemy connection in a transaction, or the asyncpg connection of a hot path's own transaction."""

Row = Mapping[str, Any]
"""A stored row as the store reads it: the key, the state and the columns the store was asked to read."""

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy dialects have untyped constructors


class StateCodec(Generic[S]):
    """A msgspec type <-> MessagePack bytes, optionally behind a leading format marker.

    Money stays `Decimal` (encoded as decimal strings). A format marker (e.g. b"\\x02") lets a later
    layout be told apart: a document without it is refused with `unknown_format` as the message.
    """

    def __init__(self, state_type: type[S], *, format_marker: bytes = b"", unknown_format: str = "") -> None:
        self._encoder = msgspec.msgpack.Encoder(decimal_format="string")
        self._decoder = msgspec.msgpack.Decoder(state_type)
        self._marker = format_marker
        self._unknown_format = unknown_format or f"unknown {state_type.__name__} state format"

    def encode(self, state: S) -> bytes:
        """The stored document of a state."""
        if self._marker:
            return self._marker + self._encoder.encode(state)
        return self._encoder.encode(state)

    def decode(self, raw: bytes) -> S:
        """The state a stored document holds."""
        marker = self._marker
        if marker:
            if raw[: len(marker)] != marker:
                raise ValueError(self._unknown_format)
            return self._decoder.decode(raw[len(marker) :])
        return self._decoder.decode(raw)


def _cast(table: Table, column: str) -> str:
    """The PostgreSQL type of a column, as declared in the `Table` (for `$n::type[]` casts)."""
    return str(table.c[column].type.compile(dialect=_DIALECT))


class StateStore(Generic[S, W]):
    """Per-customer states of type `S` in one table; `save` takes items of type `W`.

    `W` is what the caller hands to `save`: the state itself (`state_of` is the identity), or a small
    record that carries the state with values computed beside it (the profile's `next_review_at`,
    computed while building the published payload). `columns` maps each extra column of the table to
    the function deriving its value from such an item; the key, the state document and the
    `updated_at` column are written by the store itself.

    Reading: by default a row's state is `codec.decode(state)`. `read` names extra columns to read
    with it, and `from_row(raw, row)` builds the state when some of them are authoritative (the
    profile's id and version). `on_due(state, review_at)` is called for each state the sweeper's
    query returns, with the row's review time (scoring: the column wins, because re-marking
    customers due for new rules sets only the column).
    """

    def __init__(
        self,
        table: Table,
        codec: StateCodec[S],
        *,
        key_of: Callable[[S], str],
        state_of: Callable[[W], S],
        columns: Mapping[str, Callable[[W], object]],
        read: Sequence[str] = (),
        from_row: Callable[[bytes, Row], S] | None = None,
        on_due: Callable[[S, datetime | None], None] | None = None,
        key_column: str = "customer_id",
        state_column: str = "state",
        review_column: str = "next_review_at",
        updated_column: str | None = "updated_at",
    ) -> None:
        self.table = table
        self.codec = codec
        self._key_of = key_of
        self._state_of = state_of
        self._columns = dict(columns)
        self._from_row = from_row
        self._on_due = on_due
        self._review = table.c[review_column]
        _check_columns(table, key_column, state_column, review_column, updated_column, self._columns, read)

        preparer = _DIALECT.identifier_preparer
        name = preparer.format_table(table)
        key, state = preparer.quote(key_column), preparer.quote(state_column)
        review = preparer.quote(review_column)
        selected = ", ".join([key, state, *(preparer.quote(c) for c in read)])
        self._load_sql = (
            f"SELECT {selected} FROM {name} WHERE {key} = ANY($1::{_cast(table, key_column)}[])"
            f" ORDER BY {key} FOR UPDATE"
        )
        self._get_sql = f"SELECT {selected} FROM {name} WHERE {key} = $1"
        self._due_sql = (
            f"SELECT {selected}, {review} FROM {name} WHERE {review} <= $1"
            f" ORDER BY {review} LIMIT $2 FOR UPDATE SKIP LOCKED"
        )
        arrays = [key_column, *self._columns, state_column]
        targets = [preparer.quote(c) for c in arrays]
        unnested = ", ".join(f"${i}::{_cast(table, c)}[]" for i, c in enumerate(arrays, start=1))
        aliases = [f"u{i}" for i in range(len(arrays))]
        values = [f"u.{a}" for a in aliases]
        updates = [preparer.quote(c) for c in arrays[1:]]
        if updated_column is not None:
            targets.append(preparer.quote(updated_column))
            values.append(f"${len(arrays) + 1}::{_cast(table, updated_column)}")
            updates.append(preparer.quote(updated_column))
        self._with_updated = updated_column is not None
        self._save_sql = (
            f"INSERT INTO {name} ({', '.join(targets)}) SELECT {', '.join(values)}"
            f" FROM unnest({unnested}) AS u({', '.join(aliases)})"
            f" ON CONFLICT ({key}) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in updates)}"
        )

    async def load_for_update(self, conn: Connection, customer_ids: Iterable[str]) -> dict[str, S]:
        """Lock and load these customers' states in a fixed order (one statement); absent ones are left out."""
        ids = sorted(set(customer_ids))
        if not ids:
            return {}
        rows = await (await _driver(conn)).fetch(self._load_sql, ids)
        return {row[0]: self._state(row) for row in rows}

    async def get(self, conn: Connection, customer_id: str) -> S | None:
        """One customer's state, without locking it, or None."""
        row = await (await _driver(conn)).fetchrow(self._get_sql, customer_id)
        return None if row is None else self._state(row)

    async def due_for_review_for_update(self, conn: Connection, *, now: datetime, limit: int) -> list[S]:
        """Lock up to `limit` states whose review time has passed, earliest first, skipping rows others hold."""
        rows = await (await _driver(conn)).fetch(self._due_sql, now, limit)
        states = []
        for row in rows:
            state = self._state(row)
            if self._on_due is not None:
                self._on_due(state, row[-1])
            states.append(state)
        return states

    async def save(self, conn: Connection, items: Collection[W], *, now: datetime) -> None:
        """Insert or replace these states and their indexed columns (one statement)."""
        if not items:
            return
        state_of = self._state_of
        states = [state_of(item) for item in items]
        arrays: list[list[Any]] = [[self._key_of(state) for state in states]]
        arrays.extend([derive(item) for item in items] for derive in self._columns.values())
        encode = self.codec.encode
        arrays.append([encode(state) for state in states])
        params: list[Any] = [*arrays, now] if self._with_updated else arrays
        await (await _driver(conn)).execute(self._save_sql, *params)

    async def mark_due(
        self, conn: AsyncConnection, *, where: ColumnElement[bool], at: datetime, keep_earlier: bool = True
    ) -> int:
        """Make the rows matching `where` due at `at` (only the column changes); return how many.

        With `keep_earlier`, a row already due before `at` keeps its earlier time.
        """
        statement = update(self.table).where(where).values({self._review: at})
        if keep_earlier:
            statement = statement.where(or_(self._review.is_(None), self._review > at))
        result = await conn.execute(statement)
        return int(result.rowcount or 0)

    def _state(self, row: Any) -> S:
        raw = row[1]
        return self.codec.decode(raw) if self._from_row is None else self._from_row(raw, row)


async def _driver(conn: Connection) -> asyncpg.Connection:
    if isinstance(conn, AsyncConnection):
        return await driver_connection(conn)
    return conn


def _check_columns(
    table: Table,
    key: str,
    state: str,
    review: str,
    updated: str | None,
    columns: Mapping[str, object],
    read: Sequence[str],
) -> None:
    """Refuse, when the store is made, a column the table lacks or a required column `save` would not write."""
    named = {key, state, review, *columns, *read} | ({updated} if updated else set())
    unknown = sorted(named - set(table.c.keys()))
    if unknown:
        raise ValueError(f"table {table.name} has no column(s) {', '.join(unknown)}")
    written = {key, state, *columns} | ({updated} if updated else set())
    missing = sorted(
        c.name
        for c in table.c
        if c.name not in written and not c.nullable and c.server_default is None and c.default is None
    )
    if missing:
        raise ValueError(f"the state store of {table.name} would not write the required column(s) {', '.join(missing)}")
