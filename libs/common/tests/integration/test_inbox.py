"""The inbox on a real PostgreSQL: ids with the content hash of the applied copy; a copy with other
content is a conflict, one stored before hashes were kept is a plain duplicate."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine, raw_connection
from tierflow_common.db.inbox import Claim, claim_fresh, claim_fresh_timed
from tierflow_common.db.tables import add_inbox_table
from tierflow_common.events import encode_event
from tierflow_common.events.content import content_hash
from tierflow_common.kafka.delivery import Delivery
from tierflow_testing import builders as b
from tierflow_testing.infra import Infra

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)


@pytest.fixture(params=["plain", "timed"])
async def inbox(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """A fresh schema with an inbox table: the untimed one (scoring, notification) or the timed one (profile)."""
    schema = f"ib{uuid.uuid4().hex[:10]}"
    metadata = MetaData()
    add_inbox_table(metadata, with_event_time=request.param == "timed")
    engine = create_engine(infra.database_url, schema=schema, application_name="test-inbox")
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield engine, request.param
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def claim(inbox: tuple[AsyncEngine, str], *deliveries: Delivery) -> Claim:
    engine, kind = inbox
    async with engine.begin() as conn:
        if kind == "timed":
            return await claim_fresh_timed(await raw_connection(conn), deliveries)
        return await claim_fresh(conn, deliveries)


def delivery(event: object, offset: int, value: bytes | None = None) -> Delivery:
    encoded = encode_event(event) if value is None else value  # type: ignore[arg-type]
    return Delivery(event=event, topic="t.trade", partition=1, offset=offset, timestamp_ms=0, value=encoded)  # type: ignore[arg-type]


async def test_the_applied_copy_stands_and_other_content_under_its_id_is_a_conflict(
    inbox: tuple[AsyncEngine, str],
) -> None:
    first = b.trade("C1", AT, commission="2.00")
    applied = await claim(inbox, delivery(first, 1))
    assert applied.fresh == [first] and not applied.duplicates and not applied.conflicts
    async with inbox[0].connect() as conn:
        stored = (await conn.execute(text("SELECT content_hash FROM processed_events"))).scalar_one()
    assert stored == content_hash(encode_event(first))

    retry = delivery(first, 2, orjson.dumps(orjson.loads(encode_event(first)), option=orjson.OPT_INDENT_2))
    altered = b.trade("C1", AT, commission="9.00", event_id=first.event_id)
    later = await claim(inbox, retry, delivery(altered, 3))
    assert later.fresh == []
    assert later.duplicates == {first.event_id}  # the retry, whitespace aside the same
    assert list(later.conflicts) == [first.event_id]
    assert "the copy at t.trade[1]@3" in later.conflicts[first.event_id]
    async with inbox[0].connect() as conn:
        kept = (await conn.execute(text("SELECT content_hash FROM processed_events"))).scalar_one()
    assert kept == stored  # the conflicting copy changed nothing


async def test_an_id_stored_before_hashes_were_kept_is_a_plain_duplicate(inbox: tuple[AsyncEngine, str]) -> None:
    old = b.trade("C1", AT)
    async with inbox[0].begin() as conn:
        await conn.execute(text("INSERT INTO processed_events (event_id) VALUES (:id)"), {"id": old.event_id})
    altered = b.trade("C1", AT, commission="9.00", event_id=old.event_id)
    new = b.trade("C1", AT)
    claimed = await claim(inbox, delivery(altered, 1), delivery(new, 2))
    assert claimed.fresh == [new]
    assert claimed.duplicates == {old.event_id}
    assert claimed.conflicts == {}
