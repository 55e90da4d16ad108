"""The per-customer state store on a real PostgreSQL: fixed lock order, SKIP LOCKED, one-statement upserts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest
from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, MetaData, Table, Text, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine, raw_connection
from tierflow_common.db.state_store import StateCodec, StateStore
from tierflow_testing.infra import Infra

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


class Account(msgspec.Struct, array_like=True):
    customer_id: str
    version: int = 0
    balance: Decimal = Decimal(0)
    band: str | None = None
    next_review_at: datetime | None = None


@dataclass(frozen=True)
class AccountWrite:
    """A state with a value computed beside it (as the profile's next_review_at is)."""

    account: Account
    review_at: datetime | None


metadata = MetaData()
accounts = Table(
    "accounts",
    metadata,
    Column("customer_id", Text, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("band", Text),
    Column("next_review_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("state", LargeBinary, nullable=False),
)


def column_wins(account: Account, review_at: datetime | None) -> None:
    account.next_review_at = review_at


PLAIN: StateStore[Account, Account] = StateStore(
    accounts,
    StateCodec(Account),
    key_of=lambda a: a.customer_id,
    state_of=lambda a: a,
    columns={"version": lambda a: a.version, "band": lambda a: a.band, "next_review_at": lambda a: a.next_review_at},
    on_due=column_wins,
)

WITH_ROW_VALUES: StateStore[Account, AccountWrite] = StateStore(
    accounts,
    StateCodec(Account, format_marker=b"\x07"),
    key_of=lambda a: a.customer_id,
    state_of=lambda w: w.account,
    columns={"version": lambda w: w.account.version, "next_review_at": lambda w: w.review_at},
    read=("version",),
    from_row=lambda raw, row: msgspec.structs.replace(
        StateCodec(Account, format_marker=b"\x07").decode(raw), customer_id=row["customer_id"], version=row["version"]
    ),
)


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    schema = f"ss{uuid.uuid4().hex[:10]}"
    engine = create_engine(infra.database_url, schema=schema, application_name="test-state-store")
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


def account(
    customer_id: str,
    *,
    version: int = 0,
    balance: Decimal = Decimal(0),
    band: str | None = None,
    review_in_s: float | None = None,
) -> Account:
    review = None if review_in_s is None else NOW + timedelta(seconds=review_in_s)
    return Account(customer_id, version=version, balance=balance, band=band, next_review_at=review)


async def test_save_upserts_a_batch_and_load_returns_what_was_stored(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await PLAIN.save(conn, [account("C2", version=1, balance=Decimal("10.50"), band="low")], now=NOW)
        await PLAIN.save(conn, [account("C1", version=1), account("C2", version=2, band="high")], now=NOW)
    async with engine.begin() as conn:
        loaded = await PLAIN.load_for_update(conn, ["C2", "C1", "C3", "C2"])
        rows = (await conn.execute(select(accounts.c.customer_id, accounts.c.version, accounts.c.band))).all()
    assert list(loaded) == ["C1", "C2"]  # locked and returned in customer-id order; absent ones left out
    assert loaded["C2"] == account("C2", version=2, band="high")  # replaced as a whole
    assert sorted(rows) == [("C1", 1, None), ("C2", 2, "high")]  # the derived columns follow the state
    async with engine.connect() as conn:
        assert await PLAIN.get(conn, "C1") == account("C1", version=1)
        assert await PLAIN.get(conn, "C9") is None
    async with engine.begin() as conn:
        assert await PLAIN.load_for_update(conn, []) == {}
        await PLAIN.save(conn, [], now=NOW)  # nothing to do, no statement


async def test_the_asyncpg_connection_of_a_hot_path_works_the_same(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        db = await raw_connection(conn)
        async with db.transaction():
            await PLAIN.save(db, [account("C1", version=4)], now=NOW)
            assert (await PLAIN.load_for_update(db, ["C1"]))["C1"].version == 4
    async with engine.connect() as conn:
        assert (await PLAIN.get(conn, "C1")) == account("C1", version=4)


async def test_loading_for_update_holds_the_rows_until_the_transaction_ends(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await PLAIN.save(conn, [account("C1", version=1)], now=NOW)
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await PLAIN.load_for_update(first, ["C1"])
        await second.begin()
        waiting = asyncio.create_task(PLAIN.load_for_update(second, ["C1"]))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the second process waits for the customer, it does not read stale state
        await first.commit()
        assert (await asyncio.wait_for(waiting, 5))["C1"].version == 1
        await second.commit()


async def test_due_reviews_come_earliest_first_and_rows_held_elsewhere_are_skipped(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await PLAIN.save(
            conn,
            [
                account("C1", review_in_s=-30),
                account("C2", review_in_s=-20),
                account("C3", review_in_s=-10),
                account("C4", review_in_s=60),  # not due yet
                account("C5"),  # nothing to review
            ],
            now=NOW,
        )
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        held = await PLAIN.due_for_review_for_update(first, now=NOW, limit=1)
        await second.begin()
        rest = await PLAIN.due_for_review_for_update(second, now=NOW, limit=10)
        assert [a.customer_id for a in held] == ["C1"]
        assert [a.customer_id for a in rest] == ["C2", "C3"]  # C1 is another sweeper's
        await first.rollback()
        await second.rollback()


async def test_marking_due_changes_only_the_column_and_the_due_query_hands_it_back(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await PLAIN.save(
            conn,
            [
                account("C1", band="low", review_in_s=3600),
                account("C2", band="low"),
                account("C3", band="low", review_in_s=-60),  # due earlier already: keeps its time
                account("C4", band="high"),
            ],
            now=NOW,
        )
    async with engine.begin() as conn:
        marked = await PLAIN.mark_due(conn, where=accounts.c.band == "low", at=NOW)
        due = await PLAIN.due_for_review_for_update(conn, now=NOW, limit=10)
    assert marked == 2
    assert [(a.customer_id, a.next_review_at) for a in due] == [
        ("C3", NOW - timedelta(seconds=60)),
        ("C1", NOW),  # the column won over the document's review time (on_due)
        ("C2", NOW),
    ]
    async with engine.begin() as conn:
        assert await PLAIN.mark_due(conn, where=accounts.c.customer_id == "C3", at=NOW, keep_earlier=False) == 1
        assert (
            await conn.execute(select(accounts.c.next_review_at).where(accounts.c.customer_id == "C3"))
        ).scalar() == NOW


async def test_values_computed_beside_the_state_and_authoritative_row_values(engine: AsyncEngine) -> None:
    review = NOW - timedelta(minutes=1)
    async with engine.begin() as conn:
        await WITH_ROW_VALUES.save(conn, [AccountWrite(account("C1", version=7), review)], now=NOW)
        raw = (await conn.execute(select(accounts.c.state, accounts.c.next_review_at))).one()
        assert raw.state[:1] == b"\x07" and raw.next_review_at == review
        await conn.execute(accounts.update().values(version=8))  # e.g. a repair: the row's version wins
    async with engine.begin() as conn:
        assert (await WITH_ROW_VALUES.load_for_update(conn, ["C1"]))["C1"].version == 8
        assert [a.version for a in await WITH_ROW_VALUES.due_for_review_for_update(conn, now=NOW, limit=5)] == [8]
        assert (await WITH_ROW_VALUES.get(conn, "C1")) == account("C1", version=8)
