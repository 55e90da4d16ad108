"""Replicas starting at once on a fresh database install the shipped policy (and churn model) once,
and all of them start: none fails on the other's insert."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from tierflow_cli.services import MIGRATIONS
from tierflow_common.clock import WallClock
from tierflow_common.db.engine import create_engine
from tierflow_common.db.migrations import upgrade_to_head_async
from tierflow_routing.application.active_policy import ActivePolicy
from tierflow_routing.settings import RoutingSettings
from tierflow_scoring.application.rules import ActiveRules
from tierflow_scoring.settings import ScoringSettings
from tierflow_testing.infra import Infra

pytestmark = pytest.mark.integration

REPLICAS = 4


async def fresh_schema(infra: Infra, service: str) -> str:
    schema = f"r{uuid.uuid4().hex[:8]}_{service}"
    await upgrade_to_head_async(MIGRATIONS[service][0], database_url=infra.database_url, schema=schema)
    return schema


async def test_routing_replicas_install_the_default_policy_once(infra: Infra) -> None:
    schema = await fresh_schema(infra, "routing")
    engines = [create_engine(infra.database_url, schema=schema, application_name="t") for _ in range(REPLICAS)]
    default = RoutingSettings.model_fields["default_policy_file"].default
    try:
        replicas = [ActivePolicy(engine=e, clock=WallClock(), default_file=default) for e in engines]
        await asyncio.gather(*(r.ensure() for r in replicas))
        assert len({r.current().version for r in replicas}) == 1
        async with engines[0].connect() as conn:
            stored = await conn.execute(text("SELECT count(*), count(*) FILTER (WHERE active) FROM routing_policies"))
            assert stored.one() == (1, 1)
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))


async def test_scoring_replicas_install_the_default_policy_and_model_once(infra: Infra) -> None:
    schema = await fresh_schema(infra, "scoring")
    engines = [create_engine(infra.database_url, schema=schema, application_name="t") for _ in range(REPLICAS)]
    default = ScoringSettings.model_fields["default_policy_file"].default
    try:
        replicas = [ActiveRules(engine=e, clock=WallClock(), default_policy=default) for e in engines]
        await asyncio.gather(*(r.ensure() for r in replicas))
        async with engines[0].connect() as conn:
            for table in ("policies", "churn_models"):
                stored = await conn.execute(text(f"SELECT count(*), count(*) FILTER (WHERE active) FROM {table}"))
                assert stored.one() == (1, 1), table
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))
