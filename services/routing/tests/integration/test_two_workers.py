"""Two routing processes deciding at once never put an advisor over capacity.

Both processes join one consumer group (each owns some partitions), so customers on different
partitions compete for the same few advisor places at the same moment; both sweepers then race
to promote waitlisted customers when capacity is raised. Load must equal the routes that name
the advisor and never exceed capacity.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tierflow_common.events import topics
from tierflow_common.infra.embedded import free_port
from tierflow_routing.settings import RoutingSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import group_members, produce, wait_until
from tierflow_testing.plugin import Namespace
from tierflow_testing.processes import log_tails, start_service, terminate

from .conftest import SECRET, add_advisor, bearer

pytestmark = pytest.mark.integration

CUSTOMERS = [f"T{n:03d}" for n in range(400)]
ADVISORS = [f"ADV{n:02d}" for n in range(40)]  # 3 places each: 120 places fought over at their last unit


@pytest.fixture
async def two_workers(ns: Namespace, settings: RoutingSettings, tmp_path: Path) -> AsyncIterator[list[int]]:
    """Two `python -m tierflow_routing run` processes; yields their ops ports."""
    ports = [free_port(), free_port()]
    processes = [
        start_service(
            "tierflow_routing",
            "run",
            env={
                **ns.env("TIERFLOW_ROUTING_", "routing"),
                "TIERFLOW_ROUTING_JWT_SECRET": SECRET,
                "TIERFLOW_ROUTING_CACHE_NAMESPACE": f"{ns.name}:",
                "TIERFLOW_ROUTING_OPS_PORT": str(port),
                "TIERFLOW_ROUTING_BATCH_MAX_RECORDS": "8",  # many small batches: more interleaving
            },
            log=tmp_path / f"routing-{n}.log",
        )
        for n, port in enumerate(ports)
    ]
    try:

        async def both_in_group() -> bool:
            state, members = await group_members(ns.infra.kafka_bootstrap, settings.consumer_group)
            return state == "Stable" and members == 2

        await wait_until(both_in_group, timeout_s=60, what="both routing processes in the consumer group")
        yield ports
    finally:
        codes = [terminate(p) for p in processes]
        assert codes == [0, 0], log_tails(tmp_path, "routing-*.log")


async def processed(port: int) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "tierflow_events_processed"
        for sample in family.samples
        if sample.name.endswith("_total")
    )


async def routes(api: httpx.AsyncClient) -> list[dict]:  # type: ignore[type-arg]
    response = await api.get("/v1/routes", params={"limit": 500}, headers=bearer("route:read"))
    return response.json()["items"]  # type: ignore[no-any-return]


async def loads(api: httpx.AsyncClient) -> dict[str, tuple[int, int]]:
    advisors = (await api.get("/v1/advisors", headers=bearer("route:read"))).json()
    return {a["advisor_id"]: (a["load"], a["capacity"]) for a in advisors}


def assert_consistent(current: list[dict], load: dict[str, tuple[int, int]]) -> None:  # type: ignore[type-arg]
    assigned = Counter(r["advisor_id"] for r in current if r["flow"] == "private_advisor")
    for advisor_id, (used, capacity) in load.items():
        assert used <= capacity, (advisor_id, used, capacity)
        assert used == assigned.get(advisor_id, 0), (advisor_id, used, assigned)
    assert None not in assigned


async def test_two_processes_share_advisors_without_overbooking(
    ns: Namespace, two_workers: list[int], api: httpx.AsyncClient
) -> None:
    for advisor_id in ADVISORS:
        assert (await add_advisor(api, advisor_id, capacity=3)).status_code == 201
    assert (await add_advisor(api, "FAR", capacity=50, region="beijing")).status_code == 201
    now = datetime.now(UTC)
    profiles = [
        b.profile_updated(c, 1, at=now, total_assets="6000000", last_trade_at=now, region="shenzhen", age_band="30_44")
        for c in CUSTOMERS
    ]
    scores = [b.score_changed(c, 1, "A", at=now) for c in CUSTOMERS]
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.PROFILE), profiles)
    await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.SCORE), scores)

    async def everyone_routed() -> bool:
        current = await routes(api)
        return len(current) == len(CUSTOMERS) and all(r["tier"] == "A" for r in current)

    await wait_until(everyone_routed, timeout_s=60, what="all customers routed as A")
    per_process = [await processed(port) for port in two_workers]
    assert all(n > 0 for n in per_process), f"both processes must have decided: {per_process}"
    current = await routes(api)
    flows = Counter(r["flow"] for r in current)
    assert flows == {"private_advisor": 120, "robo_advisor": len(CUSTOMERS) - 120}
    waiting = [r for r in current if r["flow"] == "robo_advisor"]
    assert all("advisor_capacity_exhausted" in [x["code"] for x in r["reasons"]] for r in waiting)
    assert_consistent(current, await loads(api))
    assert (await loads(api))["FAR"] == (0, 50)  # another region: not eligible

    # Both sweepers race to fill 80 new places.
    for advisor_id in ADVISORS:
        assert (await add_advisor(api, advisor_id, capacity=5)).status_code == 200

    async def promoted() -> bool:
        return Counter(r["flow"] for r in await routes(api))["private_advisor"] == 200

    await wait_until(promoted, timeout_s=60, what="80 waiting customers promoted")
    current = await routes(api)
    assert_consistent(current, await loads(api))
    final = await loads(api)
    assert all(final[a] == (5, 5) for a in ADVISORS), final
