"""Reasons and the catalogue on the real PostgreSQL and broker, on a clock the test sets.

A dormant customer's day-7 call task is closed through the task API with the reason `app_too_hard`:
the teaching invitation goes out, the ladder's "market is recovering" rung never does, and closing the
task again plans nothing twice. A community customer is offered the catalogue in order, leaves the
flow, comes back, and is never offered an item twice. The batch processor, the step runner (with the
real advisor-task store) and the task API run in the test's event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tierflow_common.auth import TokenVerifier
from tierflow_common.clock import zone_where_it_is
from tierflow_common.events.outputs import NotificationChannel
from tierflow_common.wiring import pipeline_parts
from tierflow_notification.adapters.channels import AdvisorTaskAdapter, ChannelAdapter
from tierflow_notification.adapters.tables import steps
from tierflow_notification.api.app import create_app
from tierflow_notification.application.reasons import Outreach
from tierflow_notification.bootstrap import TaskApiDependencies
from tierflow_notification.domain.playbooks import load_playbooks
from tierflow_notification.runner import DeliveryPolicy, StepRunner
from tierflow_notification.service import NotificationService
from tierflow_notification.settings import NotificationSettings
from tierflow_testing.clock import SetClock

from .conftest import ALL_CONSENTS, bearer
from .test_step_leases import Harness, Provider

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
OUTREACH = bearer("task:read:all", "task:write:all", subject="outreach-desk")


@dataclass
class Setup:
    harness: Harness
    api: httpx.AsyncClient

    async def run_until(self, days: float) -> None:
        """Move the clock a day at a time (noon for the customer), sweeping the due steps each time."""
        for _ in range(int(days)):
            self.harness.clock.moment += DAY
            while await self.harness.runner.sweep_once():
                pass

    async def step_rows(self, customer_id: str) -> list[tuple[str, str, str | None]]:
        async with self.harness.engine.connect() as conn:
            rows = await conn.execute(
                select(steps.c.name, steps.c.status, steps.c.last_reason)
                .where(steps.c.customer_id == customer_id)
                .order_by(steps.c.name)
            )
            return [(r.name, r.status, r.last_reason) for r in rows]

    def sent(self, customer_id: str) -> list[str]:
        return [m.template for m in self.harness.provider.calls if m.customer_id == customer_id]


@pytest.fixture
async def setup(settings: NotificationSettings) -> AsyncIterator[Setup]:
    start = datetime.now(UTC).replace(microsecond=0)
    parts = pipeline_parts("notification", settings)
    clock = SetClock(start)
    playbooks = load_playbooks(settings.playbook_file)
    provider = Provider()
    adapters: dict[NotificationChannel, ChannelAdapter] = dict.fromkeys(NotificationChannel, provider)
    adapters[NotificationChannel.ADVISOR_TASK] = AdvisorTaskAdapter(parts.engine)  # the real task store
    runner = StepRunner(
        outbox=parts.outbox,
        topics=parts.topics,
        clock=clock,
        governance=playbooks.governance,
        adapters=adapters,
        policy=DeliveryPolicy(timeout_s=5),
        batch=100,
    )
    service = NotificationService(outbox=parts.outbox, topics=parts.topics, clock=clock, playbooks=playbooks)
    await parts.producer.start()
    harness = Harness(service, runner, clock, provider, parts, zone_where_it_is(12, start))
    outreach = Outreach(playbooks=playbooks, outbox=parts.outbox, topics=parts.topics, clock=clock)
    app = create_app(
        TaskApiDependencies(
            engine=parts.engine, verifier=TokenVerifier.from_settings(settings), clock=clock, outreach=outreach
        )
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://task-api") as api:
            yield Setup(harness, api)
    finally:
        await harness.close()


async def done(api: httpx.AsyncClient, task_id: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return await api.post(f"/v1/tasks/{task_id}/done", headers=OUTREACH, json=body)


async def test_an_app_too_hard_reason_gets_the_teaching_invitation_not_the_recovery_message(setup: Setup) -> None:
    h = setup.harness
    await h.customer("D1", ALL_CONSENTS)
    await h.decide("D1", 1, "reactivation")
    await h.runner.sweep_once()
    await setup.run_until(days=7)
    assert setup.sent("D1") == ["reactivation.push_day0", "reactivation.sms_day3"]
    queue = (await setup.api.get("/v1/tasks?queue=outreach", headers=OUTREACH)).json()["items"]
    assert [(t["customer_id"], t["template"], t["reason"]) for t in queue] == [("D1", "reactivation.call_day7", None)]
    task_id = queue[0]["task_id"]

    # The call asks why the customer left: no reason, an unknown one or a contradiction is 422, and nothing closes.
    missing = await done(setup.api, task_id)
    assert (missing.status_code, missing.json()["error"]) == (422, "invalid_request")
    assert "asks why the customer left" in missing.json()["detail"]
    unknown = await done(setup.api, task_id, {"outcome": "reached", "reason": "bored"})
    assert unknown.status_code == 422 and "reason" in unknown.json()["detail"]
    contradiction = await done(setup.api, task_id, {"outcome": "no_answer", "reason": "app_too_hard"})
    assert contradiction.status_code == 422 and "unreachable" in contradiction.json()["detail"]

    closed = await done(setup.api, task_id, {"outcome": "reached", "reason": "app_too_hard"})
    assert closed.status_code == 200, closed.text
    assert [closed.json()[k] for k in ("status", "outcome", "reason", "closed_by")] == [
        "done",
        "reached",
        "app_too_hard",
        "outreach-desk",
    ]
    planned = await setup.step_rows("D1")

    # Closing again (a retry) answers the first close and plans nothing twice; another reason is refused.
    again = await done(setup.api, task_id, {"outcome": "reached", "reason": "app_too_hard"})
    assert (again.status_code, again.json()["closed_at"]) == (200, closed.json()["closed_at"])
    other = await done(setup.api, task_id, {"outcome": "reached", "reason": "moved_to_competitor"})
    assert (other.status_code, other.json()["error"]) == (409, "conflict")
    assert await setup.step_rows("D1") == planned
    assert planned == [
        ("day0_push", "done", "delivered"),
        ("day14_recovery", "cancelled", "replaced_by_reason"),
        ("day3_sms", "done", "delivered"),
        ("day7_call", "done", "delivered"),
        ("day7_call.app_too_hard.teaching_invitation", "pending", None),
    ]

    await h.runner.sweep_once()
    await setup.run_until(days=10)  # past day 14: the recovery rung would have gone out
    assert setup.sent("D1") == [
        "reactivation.push_day0",
        "reactivation.sms_day3",
        "reactivation.remote_teaching",  # (the call went to the task store)
    ]
    log = await h.log("D1")
    assert ("reactivation.remote_teaching", "sent", "delivered") in log
    assert ("reactivation.market_recovering", "suppressed", "replaced_by_reason") in log
    assert not [row for row in log if row[0] == "reactivation.market_recovering" and row[1] == "sent"]
    assert [row for row in log if row[0] == "reactivation.remote_teaching"] == [
        ("reactivation.remote_teaching", "sent", "delivered")
    ]


async def test_a_customer_who_joined_the_holdout_gets_the_branch_recorded_suppressed(setup: Setup) -> None:
    h = setup.harness
    await h.customer("D2", ALL_CONSENTS)
    await h.decide("D2", 1, "reactivation")
    await h.runner.sweep_once()
    await setup.run_until(days=7)
    holdout = {"experiment": "winback-1", "arm": "holdout", "assignment_probability": 0.1}
    await h.decide("D2", 2, "reactivation", experiment=holdout)  # same flow: the plan continues, held out
    task = (await setup.api.get("/v1/tasks?queue=outreach", headers=OUTREACH)).json()["items"][0]
    closed = await done(setup.api, task["task_id"], {"outcome": "reached", "reason": "unhappy_with_returns"})
    assert closed.status_code == 200, closed.text
    await setup.run_until(days=2)
    assert "reactivation.steady_portfolio" not in setup.sent("D2")
    log = await h.log("D2")
    assert ("reactivation.steady_portfolio", "suppressed", "holdout") in log


async def test_a_task_that_does_not_ask_closes_without_a_reason(setup: Setup) -> None:
    h = setup.harness
    await h.customer("A1", ALL_CONSENTS)
    await h.decide("A1", 1, "private_advisor", advisor_id="ADV9")
    await h.runner.sweep_once()
    task = (await setup.api.get("/v1/tasks?advisor_id=ADV9", headers=OUTREACH)).json()["items"][0]
    closed = await done(setup.api, task["task_id"])
    assert [closed.json()[k] for k in ("status", "outcome", "reason")] == ["done", "done", None]


async def test_the_catalogue_is_offered_in_order_and_never_twice_across_a_flow_change(setup: Setup) -> None:
    h = setup.harness
    await h.customer("K1", ALL_CONSENTS)
    await h.decide("K1", 1, "community")
    await h.runner.sweep_once()
    await setup.run_until(days=21)  # day 7: the beginner course, day 21: the challenge
    catalogue = [t for t in setup.sent("K1") if t != "community.invitation"]
    assert catalogue == ["community.beginner_course", "community.investing_challenge"]

    await h.decide("K1", 2, "robo_advisor")  # leaves the flow: the rest of the catalogue is cancelled
    await h.runner.sweep_once()
    await setup.run_until(days=10)
    await h.decide("K1", 3, "community")  # and comes back
    await h.runner.sweep_once()
    await setup.run_until(days=60)
    catalogue = [t for t in setup.sent("K1") if t.startswith("community.") and t != "community.invitation"]
    assert catalogue == [
        "community.beginner_course",
        "community.investing_challenge",
        "community.interest_group",
        "community.advisor_session",
    ]
    rows = await setup.step_rows("K1")
    assert ("catalogue.interest_group", "cancelled", "route_changed") in rows  # decision 1's, never sent
    assert [r for r in rows if r[0] == "catalogue.beginner_course"] == [
        ("catalogue.beginner_course", "done", "delivered")
    ]

    await h.decide("K1", 4, "robo_advisor")
    await h.decide("K1", 5, "community")  # once more: nothing left to offer
    await setup.run_until(days=60)
    assert [t for t in setup.sent("K1") if t.startswith("community.") and t != "community.invitation"] == catalogue
