"""Routing integration fixtures: a migrated schema, the worker, the API over TCP, tokens, customers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.db.engine import create_engine
from tierflow_common.events import topics
from tierflow_routing.adapters import customers
from tierflow_routing.api.app import create_app
from tierflow_routing.api.security import mint_token
from tierflow_routing.bootstrap import MIGRATIONS_DIR, build
from tierflow_routing.domain.facts import CustomerState
from tierflow_routing.settings import RoutingSettings
from tierflow_testing import builders as b
from tierflow_testing.http import serving
from tierflow_testing.kafka import produce, wait_until
from tierflow_testing.plugin import Namespace, migrate, running

SECRET = "integration-test-secret-0123456789-abcdefgh"
ALL_SCOPES = ("route:read", "route:override", "policy:write", "advisor:write")


def bearer(*scopes: str, customer: str | None = None, subject: str | None = None) -> dict[str, str]:
    """A signed token; a customer's own token is subject to the customer rate limit under its id."""
    subject = subject or (f"customer:{customer}" if customer else "tester")
    token = mint_token(secret=SECRET, subject=subject, scopes=list(scopes or ALL_SCOPES), customer_id=customer)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def settings(ns: Namespace) -> RoutingSettings:
    settings = ns.settings(
        RoutingSettings,
        "routing",
        jwt_secret=SECRET,
        cache_namespace=f"{ns.name}:",
        api_port=0,
        policy_refresh_s=0.2,
    )
    await migrate(settings, MIGRATIONS_DIR)
    return settings


@pytest.fixture
async def worker(settings: RoutingSettings) -> AsyncIterator[RoutingSettings]:
    async with running(build(settings)):
        yield settings


@pytest.fixture
async def api(settings: RoutingSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings)) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield client


@pytest.fixture
async def database(settings: RoutingSettings) -> AsyncIterator[AsyncEngine]:
    """The routing schema, for reading what the worker has stored."""
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="test"
    )
    try:
        yield engine
    finally:
        await engine.dispose()


async def state_of(database: AsyncEngine, customer_id: str) -> CustomerState | None:
    async with database.connect() as conn:
        return await customers.STORE.get(conn, customer_id)


async def applied(database: AsyncEngine, customer_id: str, version: int = 1) -> None:
    """Wait until the worker has applied the profile and the score of `version`: they arrive on two
    topics in either order, so a customer's first route may be decided before both are in."""

    async def both() -> bool:
        state = await state_of(database, customer_id)
        return state is not None and (state.profile.profile_version, state.score.score_version) == (version, version)

    await wait_until(both, timeout_s=30, what=f"{customer_id}'s profile and score applied")


async def add_advisor(client: httpx.AsyncClient, advisor_id: str, **fields: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "branch": "futian",
        "region": "shenzhen",
        "capacity": 10,
        "licence_level": 5,
        "languages": ["zh"],
        "active": True,
    }
    body.update(fields)
    return await client.put(f"/v1/advisors/{advisor_id}", json=body, headers=bearer("advisor:write"))


async def publish_customer(
    ns: Namespace, customer_id: str, tier: str, *, version: int = 1, band: str = "low", **profile: Any
) -> None:
    """The profile facts, then the score, as the upstream services would publish them."""
    now = datetime.now(UTC)
    profile.setdefault("region", "shenzhen")
    profile.setdefault("age_band", "30_44")
    await produce(
        ns.infra.kafka_bootstrap,
        ns.topics.name(topics.PROFILE),
        [b.profile_updated(customer_id, version, at=now, total_assets="100", last_trade_at=now, **profile)],
    )
    await produce(
        ns.infra.kafka_bootstrap,
        ns.topics.name(topics.SCORE),
        [b.score_changed(customer_id, version, tier, at=now, churn_band=band)],
    )
