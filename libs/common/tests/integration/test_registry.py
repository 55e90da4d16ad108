"""The active-versioned-document registry and its follower on a real PostgreSQL.

Two kinds of rows, as the services have them: a jsonb document with a description and the uploader
(routing's `routing_policies`), and the figures as columns (scoring's `churn_models`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, DateTime, Float, Index, Integer, MetaData, Table, Text, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine
from tierflow_common.db.registry import DocumentKind, Follower, Registry, UnknownVersion, VersionConflict
from tierflow_common.exceptions import Conflict, NotFound
from tierflow_testing.infra import Infra

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)

metadata = MetaData()
policies = Table(
    "policies",
    metadata,
    Column("version", Text, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("activated_at", DateTime(timezone=True)),
)
Index("policies_one_active", policies.c.active, unique=True, postgresql_where=policies.c.active)
models = Table(
    "models",
    metadata,
    Column("version", Text, primary_key=True),
    Column("r", Float, nullable=False),
    Column("alpha", Float, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True)),
    Column("active", Boolean, nullable=False),
)


@dataclass(frozen=True)
class Policy:
    version: str
    rules: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Model:
    version: str
    r: float
    alpha: float


POLICY: DocumentKind[Policy] = DocumentKind(
    name="routing policy",
    version_of=lambda p: p.version,
    to_row=lambda p: {
        "document": {"version": p.version, "rules": p.rules, "description": p.description},
        "description": p.description,
    },
    from_row=lambda row: Policy(row["version"], row["document"]["rules"], row["description"]),
    content=("document",),
)
MODEL: DocumentKind[Model] = DocumentKind(
    name="churn model",
    version_of=lambda m: m.version,
    to_row=lambda m: {"r": m.r, "alpha": m.alpha},
    from_row=lambda row: Model(row["version"], row["r"], row["alpha"]),
    content=("r", "alpha"),
    conflict_hint="; bump `version`",
)
POLICIES = Registry(policies, POLICY)
MODELS = Registry(models, MODEL, lock="scoring_registry")


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    schema = f"rg{uuid.uuid4().hex[:10]}"
    engine = create_engine(infra.database_url, schema=schema, application_name="test-registry")
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


async def test_a_version_is_stored_once_and_activation_moves_the_one_active_flag(engine: AsyncEngine) -> None:
    v1, v2 = Policy("v1", {"a": 1}, "first"), Policy("v2", {"a": 2}, "second")
    async with engine.begin() as conn:
        assert await POLICIES.active(conn) is None
        assert await POLICIES.store(conn, v1, now=NOW, activate=False, details={"created_by": "ops"}) is False
        assert await POLICIES.active(conn) is None
        assert await POLICIES.store(conn, v1, now=NOW, activate=True, details={"created_by": "ops"}) is True
        assert await POLICIES.store(conn, v1, now=NOW, activate=True, details={"created_by": "ops"}) is False
        later = NOW + timedelta(hours=1)
        assert await POLICIES.store(conn, v2, now=later, activate=True, details={"created_by": "ann"}) is True
        assert await POLICIES.active(conn) == v2
        stored = await POLICIES.versions(conn)
    assert [(s.document.version, s.active, s.row["created_by"]) for s in stored] == [
        ("v1", False, "ops"),
        ("v2", True, "ann"),
    ]
    assert stored[1].row["activated_at"] == NOW + timedelta(hours=1)


async def test_other_content_under_a_known_version_is_refused_with_a_clear_error(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await POLICIES.store(conn, Policy("v1", {"a": 1}), now=NOW, activate=True, details={"created_by": "ops"})
        await MODELS.store(
            conn, Model("m1", 0.24, 4.4), now=NOW, activate=True, details={"customers": 0, "source": "x"}
        )
    async with engine.begin() as conn:
        with pytest.raises(VersionConflict, match=r"^routing policy version v1 already exists with another content$"):
            await POLICIES.store(conn, Policy("v1", {"a": 9}), now=NOW, activate=True, details={"created_by": "x"})
    async with engine.begin() as conn:
        with pytest.raises(Conflict, match="churn model version m1 already exists with another content; bump"):
            await MODELS.store(conn, Model("m1", 0.25, 4.4), now=NOW, activate=False, details={"customers": 1})
    async with engine.begin() as conn:  # the same content again is fine, whoever uploads it
        assert not await POLICIES.store(
            conn, Policy("v1", {"a": 1}), now=NOW, activate=True, details={"created_by": "y"}
        )


async def test_activating_a_stored_version_and_an_unknown_one(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for version, r in (("m1", 0.1), ("m2", 0.2)):
            await MODELS.store(
                conn, Model(version, r, 1.0), now=NOW, activate=True, details={"customers": 3, "source": "s"}
            )
        await MODELS.activate(conn, "m1", now=NOW + timedelta(minutes=5))
        assert await MODELS.active(conn) == Model("m1", 0.1, 1.0)
        with pytest.raises(NotFound, match=r"^no churn model m9$"):
            await MODELS.activate(conn, "m9", now=NOW)
        assert isinstance(UnknownVersion("x"), NotFound)
        active = (await conn.execute(select(func.count()).where(models.c.active))).scalar_one()
    assert active == 1


async def test_replicas_installing_the_default_together_install_it_once(engine: AsyncEngine, infra: Infra) -> None:
    default = Policy("default", {"a": 0}, "shipped")
    calls = 0

    def load_default() -> Policy:
        nonlocal calls
        calls += 1
        return default

    async def replica() -> bool:
        async with engine.begin() as conn:
            return await POLICIES.install_default(conn, load_default, now=NOW, details={"created_by": "tierflow"})

    installed = await asyncio.gather(*(replica() for _ in range(4)))
    assert sorted(installed) == [False, False, False, True] and calls == 1
    async with engine.connect() as conn:
        assert await POLICIES.active(conn) == default
        await conn.rollback()
    async with engine.begin() as conn:  # something active: the default is not even read
        assert not await POLICIES.install_default(conn, load_default, now=NOW, details={"created_by": "tierflow"})
    assert calls == 1


async def test_the_follower_calls_back_on_the_first_load_and_on_each_change(engine: AsyncEngine) -> None:
    seen: list[tuple[str | None, bool]] = []

    async def changed(policy: Policy | None, initial: bool) -> None:
        seen.append((None if policy is None else policy.version, initial))

    follower = Follower(
        engine=engine,
        load=POLICIES.active,
        key=lambda p: None if p is None else p.version,
        on_change=changed,
        refresh_s=0.05,
        name="routing policy",
    )
    with pytest.raises(RuntimeError, match="refresh first"):
        follower.current  # noqa: B018
    async with engine.begin() as conn:
        await POLICIES.store(conn, Policy("v1", {}), now=NOW, activate=True, details={"created_by": "ops"})
    assert await follower.refresh() is False  # the first load is no change, but it is announced
    assert follower.current == Policy("v1", {}) and seen == [("v1", True)]
    assert await follower.refresh() is False and seen == [("v1", True)]

    stop = asyncio.Event()
    running = asyncio.create_task(follower.run(stop))
    async with engine.begin() as conn:
        await POLICIES.store(conn, Policy("v2", {}), now=NOW, activate=True, details={"created_by": "ops"})
    for _ in range(100):
        if len(seen) == 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert seen == [("v1", True), ("v2", False)] and follower.current == Policy("v2", {})
