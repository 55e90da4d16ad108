"""The whole system as separate processes, through its public contract only.

Events go in on the input topics; routes come out of the routing API (read with tokens) and
notification records come out on tierflow.notification.v1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tierflow_cli.services import API, MIGRATIONS, WORKERS
from tierflow_common.events import NotificationRecorded, decode_event, topics
from tierflow_common.infra.embedded import free_port
from tierflow_notification.settings import NotificationSettings
from tierflow_profile.settings import ProfileSettings
from tierflow_routing.api.security import mint_token
from tierflow_routing.settings import RoutingSettings
from tierflow_scoring.settings import ScoringSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, migrate
from tierflow_testing.processes import log_tails, start_service, terminate

pytestmark = pytest.mark.e2e

SECRET = "e2e-secret-0123456789-0123456789-abcdef"
NOW = datetime.now(UTC)
SETTINGS = {
    "profile": ProfileSettings,
    "scoring": ScoringSettings,
    "routing": RoutingSettings,
    "notification": NotificationSettings,
}


@pytest.fixture
async def system(ns: Namespace, tmp_path: Path) -> AsyncIterator[str]:
    """All four services and the API running as processes; yields the API's base URL."""
    for service, (directory, _) in MIGRATIONS.items():
        await migrate(ns.settings(SETTINGS[service], service), directory)  # type: ignore[arg-type]
    api_port = free_port()
    processes = []
    for spec in (*WORKERS, API):
        service = "routing" if spec is API else spec.name
        env = {
            **ns.env(spec.env_prefix, service),
            "TIERFLOW_ROUTING_JWT_SECRET": SECRET,
            "TIERFLOW_ROUTING_API_PORT": str(api_port),
            "TIERFLOW_ROUTING_CACHE_NAMESPACE": f"{ns.name}:",
        }
        processes.append(start_service(spec.module, *spec.args, env=env, log=tmp_path / f"{spec.name}.log"))
    base = f"http://127.0.0.1:{api_port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            await wait_until(lambda: _ready(client), timeout_s=60, what="the API to be ready")
        yield base
    finally:
        codes = [terminate(p) for p in processes]
        assert codes == [0] * len(processes), log_tails(tmp_path)


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


def token(*scopes: str, customer: str | None = None) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {mint_token(secret=SECRET, subject='e2e', scopes=list(scopes), customer_id=customer)}"
    }


CUSTOMERS = {
    # customer: (total assets, days since last trade, expected tier, expected flow, welcome template)
    "E2E-A": ("12500000.00", 1, "A", "private_advisor", "advisor.welcome"),
    "E2E-B": ("6000000.00", 2, "B", "robo_advisor", "robo.onboarding"),
    "E2E-C": ("80000.00", 3, "C", "community", "community.invitation"),
    "E2E-D": ("2000000.00", 120, "D", "reactivation", "reactivation.push_day0"),
}


ADVISOR = {
    "branch": "shenzhen-futian",
    "region": "shenzhen",
    "capacity": 10,
    "licence_level": 5,
    "languages": ["zh"],
    "active": True,
}


async def test_events_in_routes_and_notifications_out(ns: Namespace, system: str) -> None:
    bootstrap = ns.infra.kafka_bootstrap
    async with httpx.AsyncClient(base_url=system) as client:
        created = await client.put("/v1/advisors/ADV-E2E", json=ADVISOR, headers=token("advisor:write"))
        assert created.status_code == 201, created.text
    for customer_id, (assets, days_ago, *_rest) in CUSTOMERS.items():
        opened = NOW - timedelta(days=200)
        await produce(bootstrap, ns.topics.name(topics.CUSTOMER), [b.customer(customer_id, opened)])
        await produce(
            bootstrap, ns.topics.name(topics.BALANCE), [b.balance(customer_id, assets, NOW - timedelta(hours=2))]
        )
        await produce(bootstrap, ns.topics.name(topics.TRADE), [b.trade(customer_id, NOW - timedelta(days=days_ago))])
        await produce(bootstrap, ns.topics.name(topics.LOGIN), [b.login(customer_id, NOW - timedelta(hours=1))])

    async with httpx.AsyncClient(base_url=system) as client:

        async def all_routed() -> bool:
            for customer_id, (*_head, _tier, flow, _template) in CUSTOMERS.items():
                response = await client.get(f"/v1/customers/{customer_id}/route", headers=token("route:read"))
                if response.status_code != 200 or response.json()["flow"] != flow:
                    return False
            return True

        await wait_until(all_routed, timeout_s=90, what="every customer routed to the expected flow")
        for customer_id, (*_head, tier, flow, _template) in CUSTOMERS.items():
            body = (await client.get(f"/v1/customers/{customer_id}/route", headers=token("route:read"))).json()
            assert (body["tier"], body["flow"], body["policy_version"]) == (tier, flow, "routing-default-2026.11")
        own = await client.get("/v1/customers/E2E-A/route", headers=token("route:read:self", customer="E2E-A"))
        assert own.status_code == 200 and own.json()["advisor_id"] == "ADV-E2E"
        advisor = (await client.get("/v1/advisors/ADV-E2E", headers=token("advisor:write"))).json()
        assert (advisor["load"], advisor["free"]) == (1, 9)
        other = await client.get("/v1/customers/E2E-B/route", headers=token("route:read:self", customer="E2E-A"))
        assert other.status_code == 403
        assert (await client.get("/v1/customers/E2E-A/route")).status_code == 401

    # Each flow's first message is sent, or deferred to the morning when it is night in Shanghai
    # (quiet hours); the advisor's task for the A customer is sent at once (a service message).
    expected = {(cid, spec[4]) for cid, spec in CUSTOMERS.items()} | {("E2E-A", "advisor.new_customer")}

    async def outreach_recorded() -> bool:
        records = await read_topic(bootstrap, ns.topics.name(topics.NOTIFICATION), timeout_s=5)
        notes = [decode_event(r.value, key=r.key, base_topic=topics.NOTIFICATION) for r in records]
        seen = {
            (n.customer_id, n.payload.template)  # type: ignore[union-attr]
            for n in notes
            if isinstance(n, NotificationRecorded)
            and (n.payload.status.value, n.payload.reason) in {("sent", "delivered"), ("deferred", "quiet_hours")}
        }
        return expected <= seen

    await wait_until(outreach_recorded, timeout_s=60, what=f"outreach recorded for {sorted(expected)}")
