"""A real PostgreSQL error raised through SQLAlchemy and asyncpg, made safe for a dead letter's reason."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, MetaData, Table, Text, insert, text
from sqlalchemy.exc import DBAPIError

from tierflow_common.db.engine import create_engine
from tierflow_common.errors_text import safe_reason
from tierflow_testing.infra import Infra

pytestmark = pytest.mark.integration

CUSTOMER = "C-SECRET-000123"


async def test_a_unique_violation_names_the_constraint_but_no_value(infra: Infra) -> None:
    schema = f"er{uuid.uuid4().hex[:10]}"
    table = Table("customers", MetaData(), Column("customer_id", Text, primary_key=True), Column("note", Text))
    engine = create_engine(infra.database_url, schema=schema, application_name="test-errors-text")
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(insert(table).values(customer_id=CUSTOMER, note="first"))
        with pytest.raises(DBAPIError) as caught:
            async with engine.begin() as conn:
                await conn.execute(insert(table).values(customer_id=CUSTOMER, note="private note"))
        assert CUSTOMER in str(caught.value)  # what the dead letter's reason used to carry
        reason = safe_reason(caught.value)
        assert reason.startswith("IntegrityError:") and "customers_pkey" in reason, reason
        assert CUSTOMER not in reason and "private note" not in reason, reason
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
