"""Service coverage on the real PostgreSQL: an advisor who closes every task on time has full coverage; once
they stop closing, the share done on time over the last 30 days falls below 90%, in the coverage API and in
the gauges the TierflowServiceCoverageLow alert reads (deploy/prometheus/tests/service-coverage-low.test.yml).

Three A customers of one advisor live through the private_advisor programme on a clock the test moves a day
at a time (as in test_recurring_service.py); the advisor closes their tasks through the task API, whose clock
is the test's.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tierflow_common.auth import TokenVerifier
from tierflow_common.clock import zone_where_it_is
from tierflow_common.events.outputs import Priority
from tierflow_notification.adapters import tasks
from tierflow_notification.api.app import create_app
from tierflow_notification.bootstrap import TaskApiDependencies
from tierflow_notification.domain.tasks import AdvisorTask, TaskStatus
from tierflow_notification.gauges import coverage_gauges
from tierflow_notification.settings import NotificationSettings
from tierflow_testing import builders as b
from tierflow_testing.clock import SetClock

from .conftest import ALL_CONSENTS, bearer
from .test_recurring_service import DAY, Process, start_process

pytestmark = pytest.mark.integration

ADVISOR = bearer("task:read", "task:write", advisor="ADV1", subject="adv1")
STAFF = bearer("task:read:all")


async def coverage(api: httpx.AsyncClient, advisor: str = "ADV1", headers: dict[str, str] = STAFF) -> Any:
    answer = await api.get(f"/v1/advisors/{advisor}/coverage", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def close_open_tasks(api: httpx.AsyncClient) -> int:
    listing = (await api.get("/v1/tasks?status=open&limit=500", headers=ADVISOR)).json()
    for task in listing["items"]:
        closed = await api.post(f"/v1/tasks/{task['task_id']}/done", headers=ADVISOR)
        assert closed.status_code == 200, closed.text
    return len(listing["items"])


def gauge(name: str, tier: str = "A") -> float | None:
    return REGISTRY.get_sample_value(name, {"advisor": "ADV1", "tier": tier})


async def test_coverage_falls_below_90_percent_when_the_advisor_stops_closing_tasks(
    settings: NotificationSettings,
) -> None:
    start = datetime(2027, 1, 4, 4, 0, tzinfo=UTC)
    clock = SetClock(start)
    process = await start_process(settings, clock)
    app = create_app(
        TaskApiDependencies(engine=process.parts.engine, verifier=TokenVerifier.from_settings(settings), clock=clock)
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://task-api") as api:
            await live(process, clock, api)
    finally:
        await process.stop()


async def live(process: Process, clock: SetClock, api: httpx.AsyncClient) -> None:
    start = clock.moment
    for n in range(3):
        customer = f"A{n}"
        await process.feed(
            b.customer(customer, start, consents=ALL_CONSENTS, timezone=zone_where_it_is(12, start)),
            b.routing_decided(customer, 1, "private_advisor", at=start, advisor_id="ADV1"),
        )
    refresh = coverage_gauges(process.parts.engine, clock)
    closed = 0
    # 120 days of closing every task the day it appears: everything due is done on time.
    while clock.moment < start + 120 * DAY:
        clock.moment += DAY
        await process.sweep()
        closed += await close_open_tasks(api)
    assert closed >= 15
    before = await coverage(api)
    assert before["overall"]["promised"] >= 5
    assert before["overall"]["ratio"] == 1.0 and before["overall"]["overdue"] == 0
    assert [t["tier"] for t in before["tiers"]] == ["A"]  # the routing decision's tier, kept on the task
    await refresh()
    assert gauge("tierflow_service_coverage_ratio") == 1.0
    assert gauge("tierflow_service_promised_tasks") == gauge("tierflow_service_ontime_tasks")

    # Then the advisor stops closing. A task is due at the end of its window (a month for the monthly contact),
    # so the tasks due in the next weeks were mostly closed already; the ratio falls as the unclosed ones fall due.
    while clock.moment < start + 185 * DAY:
        clock.moment += DAY
        await process.sweep()
    after = await coverage(api)
    overall = after["overall"]
    assert overall["ratio"] < 0.9 and overall["overdue"] > 0
    assert overall["promised"] == overall["on_time"] + overall["overdue"]  # nothing closed late: all still open
    assert after["window_end"] == clock.moment.isoformat().replace("+00:00", "Z")
    await refresh()
    ratio = gauge("tierflow_service_coverage_ratio")
    assert ratio is not None and ratio < 0.9
    assert gauge("tierflow_service_overdue_tasks") == overall["overdue"]
    assert gauge("tierflow_service_promised_tasks") == overall["promised"]


async def test_a_new_advisor_has_zeros_an_old_task_counts_as_unknown_and_advisors_see_only_their_own(
    settings: NotificationSettings,
) -> None:
    clock = SetClock(datetime(2027, 1, 4, 4, 0, tzinfo=UTC))
    process = await start_process(settings, clock)
    app = create_app(
        TaskApiDependencies(engine=process.parts.engine, verifier=TokenVerifier.from_settings(settings), clock=clock)
    )
    try:
        async with process.parts.engine.begin() as conn:  # a task from before migration 0008: no tier
            await tasks.open_task(
                conn,
                AdvisorTask(
                    task_id=uuid.uuid4(),
                    advisor_id="ADV1",
                    customer_id="C1",
                    decision_id=uuid.uuid4(),
                    template="advisor.monthly_contact",
                    priority=Priority.NORMAL,
                    due_at=clock.moment - timedelta(days=2),
                    status=TaskStatus.OPEN,
                    created_at=clock.moment - timedelta(days=10),
                ),
            )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://task-api") as api:
            old = await coverage(api, "ADV1", ADVISOR)
            assert old["tiers"] == [{"tier": "unknown", "promised": 1, "on_time": 0, "ratio": 0.0, "overdue": 1}]
            new = await coverage(api, "ADV2")
            assert new["tiers"] == []
            assert new["overall"] == {"tier": "all", "promised": 0, "on_time": 0, "ratio": None, "overdue": 0}
            other = await api.get("/v1/advisors/ADV2/coverage", headers=ADVISOR)
            assert (other.status_code, other.json()["error"]) == (403, "forbidden")
            anonymous = await api.get("/v1/advisors/ADV1/coverage")
            assert anonymous.status_code == 401
    finally:
        await process.stop()
