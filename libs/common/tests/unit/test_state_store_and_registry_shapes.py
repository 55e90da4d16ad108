"""The generic state store and registry without a database: codec, statements built from the Table, checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest
from sqlalchemy import BigInteger, Boolean, Column, DateTime, LargeBinary, MetaData, Table, Text

from tierflow_common.db.registry import DocumentKind, Registry
from tierflow_common.db.state_store import StateCodec, StateStore


class Note(msgspec.Struct, array_like=True):
    customer_id: str
    version: int = 0
    amount: Decimal = Decimal(0)
    next_review_at: datetime | None = None


metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("next_review_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("state", LargeBinary, nullable=False),
)


DERIVED: dict[str, Callable[[Note], object]] = {
    "version": lambda n: n.version,
    "next_review_at": lambda n: n.next_review_at,
}


def store(columns: dict[str, Callable[[Note], object]] = DERIVED) -> StateStore[Note, Note]:
    return StateStore(
        notes, StateCodec(Note), key_of=lambda note: note.customer_id, state_of=lambda note: note, columns=columns
    )


def test_a_state_round_trips_with_money_exact() -> None:
    codec = StateCodec(Note)
    note = Note("C1", 3, Decimal("12.3400"), datetime(2026, 11, 21, tzinfo=UTC))
    assert codec.decode(codec.encode(note)) == note


def test_a_format_marker_leads_the_document_and_other_layouts_are_refused() -> None:
    codec = StateCodec(Note, format_marker=b"\x02", unknown_format="unknown note format; rebuild")
    raw = codec.encode(Note("C1"))
    assert raw[:1] == b"\x02" and codec.decode(raw) == Note("C1")
    with pytest.raises(ValueError, match="unknown note format; rebuild"):
        codec.decode(StateCodec(Note).encode(Note("C1")))


def test_the_array_casts_come_from_the_table_declaration() -> None:
    sql = store()._save_sql
    assert "unnest($1::TEXT[], $2::BIGINT[], $3::TIMESTAMP WITH TIME ZONE[], $4::BYTEA[])" in sql
    assert "$5::TIMESTAMP WITH TIME ZONE" in sql  # updated_at
    assert "ON CONFLICT (customer_id) DO UPDATE SET" in sql
    assert "ANY($1::TEXT[])" in store()._load_sql and "ORDER BY customer_id FOR UPDATE" in store()._load_sql
    assert "FOR UPDATE SKIP LOCKED" in store()._due_sql


def test_a_store_refuses_columns_the_table_lacks_and_required_columns_it_would_not_write() -> None:
    with pytest.raises(ValueError, match="no column"):
        store({**DERIVED, "missing": lambda n: 0})
    with pytest.raises(ValueError, match="would not write the required column"):
        store({"next_review_at": lambda n: n.next_review_at})  # version is NOT NULL


def test_a_registry_needs_the_bookkeeping_columns() -> None:
    table = Table("bare", MetaData(), Column("version", Text, primary_key=True), Column("active", Boolean))
    kind: DocumentKind[str] = DocumentKind(
        name="thing", version_of=str, to_row=lambda v: {}, from_row=lambda row: str(row["version"]), content=()
    )
    with pytest.raises(ValueError, match="activated_at, created_at"):
        Registry(table, kind)
