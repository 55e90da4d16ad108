"""The private_advisor programme over a simulated year, on the real PostgreSQL and broker: 12 monthly contacts,
4 quarterly reviews, 4 visits and the annual planning, none twice across a restart, a redelivered decision and
a sender that died mid-delivery; a logged contact closes its month's task (open or not yet opened) with the
contact as evidence; and the worker reads contact.logged from its topic.

The batch processor and the step runner run in the test's event loop on a clock the test moves a day at a
time (tierflow_testing.clock.SetClock), as in test_step_leases.py; advisor tasks go to the real
workbench store, other channels to a recorder.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tierflow_common.clock import zone_where_it_is
from tierflow_common.events import encode_event, topics
from tierflow_common.events.outputs import NotificationChannel
from tierflow_common.kafka.delivery import Delivery
from tierflow_common.wiring import PipelineParts, pipeline_parts
from tierflow_notification.adapters.channels import AdvisorTaskAdapter, OutboundMessage
from tierflow_notification.adapters.tables import advisor_tasks
from tierflow_notification.domain.durations import add_months
from tierflow_notification.domain.playbooks import load_playbooks
from tierflow_notification.runner import DeliveryPolicy, StepRunner
from tierflow_notification.service import NotificationService
from tierflow_notification.settings import NotificationSettings
from tierflow_notification.worker import build
from tierflow_testing import builders as b
from tierflow_testing.clock import SetClock
from tierflow_testing.kafka import produce, wait_until
from tierflow_testing.plugin import Namespace, running

from .conftest import ALL_CONSENTS

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)


class Crash(BaseException):
    """The sending process dies right after the task was stored: nothing after it runs."""


@dataclass
class Workbench:
    """The real advisor-task store, which can kill the sender once right after storing a task."""

    store: AdvisorTaskAdapter
    crash_next: bool = False

    async def deliver(self, message: OutboundMessage) -> None:
        await self.store.deliver(message)
        if self.crash_next:
            self.crash_next = False
            raise Crash()


@dataclass
class Recorder:
    calls: list[OutboundMessage] = field(default_factory=list)

    async def deliver(self, message: OutboundMessage) -> None:
        self.calls.append(message)


@dataclass
class Process:
    """One notification process: its batch processor and step runner on the test's clock."""

    service: NotificationService
    runner: StepRunner
    workbench: Workbench
    parts: PipelineParts
    offset: int = 0

    async def feed(self, *events: Any) -> None:
        deliveries = []
        for event in events:
            self.offset += 1
            deliveries.append(
                Delivery(
                    event=event, topic="t", partition=0, offset=self.offset, timestamp_ms=0, value=encode_event(event)
                )
            )
        outcome = await self.service.process(deliveries)
        assert not outcome.rejected and not outcome.conflicts

    async def sweep(self) -> None:
        while await self.runner.sweep_once():
            pass

    async def stop(self) -> None:
        await self.parts.producer.stop()
        await self.parts.engine.dispose()


async def start_process(settings: NotificationSettings, clock: SetClock) -> Process:
    parts = pipeline_parts("notification", settings)
    playbooks = load_playbooks(settings.playbook_file)
    workbench = Workbench(AdvisorTaskAdapter(parts.engine))
    adapters: dict[NotificationChannel, Any] = dict.fromkeys(NotificationChannel, Recorder())
    adapters[NotificationChannel.ADVISOR_TASK] = workbench
    runner = StepRunner(
        outbox=parts.outbox,
        topics=parts.topics,
        clock=clock,
        governance=playbooks.governance,
        adapters=adapters,
        policy=DeliveryPolicy(lease_s=60, timeout_s=5),
        batch=100,
    )
    service = NotificationService(outbox=parts.outbox, topics=parts.topics, clock=clock, playbooks=playbooks)
    await parts.producer.start()
    return Process(service, runner, workbench, parts)


@pytest.fixture
async def clock() -> SetClock:
    return SetClock(datetime(2027, 1, 4, 4, 0, tzinfo=UTC))


async def tasks_of(process: Process, customer_id: str) -> list[Any]:
    async with process.parts.engine.connect() as conn:
        query = select(advisor_tasks).where(advisor_tasks.c.customer_id == customer_id)
        return list(await conn.execute(query.order_by(advisor_tasks.c.due_at)))


def logged_contact(customer_id: str, at: datetime, advisor_id: str = "ADV1") -> Any:
    event = b.contact(customer_id, at, reason="advisory", outcome="reached")
    return event.model_copy(update={"payload": event.payload.model_copy(update={"advisor_id": advisor_id})})


async def test_a_year_of_service_for_an_a_customer_none_twice_and_a_contact_closes_its_month(
    settings: NotificationSettings, clock: SetClock
) -> None:
    processes = [await start_process(settings, clock)]
    try:
        await live_a_year(settings, clock, processes)
    finally:
        await processes[-1].stop()


async def live_a_year(settings: NotificationSettings, clock: SetClock, processes: list[Process]) -> None:
    process = processes[-1]
    start = clock.moment
    end = add_months(start, 12)
    customer = b.customer("A1", start, consents=ALL_CONSENTS, timezone=zone_where_it_is(12, start))
    decision = b.routing_decided("A1", 1, "private_advisor", at=start, advisor_id="ADV1")
    await process.feed(customer, decision)
    await process.sweep()
    evidence: dict[str, Any] = {}
    crashes = 0
    while clock.moment + DAY < end:
        clock.moment += DAY
        day = (clock.moment - start).days
        if day == 100:  # the sender dies right after storing the next task: its lease lapses, it is stored once
            process.workbench.crash_next = True
        if day == 150:  # a restart, and the decision redelivered to the new process
            await process.stop()
            process = await start_process(settings, clock)
            processes.append(process)
            await process.feed(decision)
        if day == 200:  # the advisor calls: this month's open task closes with the call as evidence
            call = logged_contact("A1", clock.moment)
            await process.feed(call)
            evidence["open"] = call.event_id
        if day >= 260 and "pending" not in evidence:  # a call as a month opens, before its task is on the workbench
            pending = await due_monthly(process, clock.moment + DAY)
            if pending is not None:
                clock.moment = pending
                call = logged_contact("A1", clock.moment)
                await process.feed(call)
                evidence["pending"] = call.event_id
        try:
            await process.sweep()
        except Crash:
            crashes += 1
    clock.moment = end - timedelta(seconds=1)
    await process.sweep()

    assert crashes == 1
    tasks = await tasks_of(process, "A1")
    counts = Counter(t.template for t in tasks)
    assert counts == {
        "advisor.new_customer": 1,
        "advisor.monthly_contact": 12,
        "advisor.portfolio_review": 4,
        "advisor.onsite_visit": 4,
        "advisor.annual_planning": 1,
    }
    assert len({(t.template, t.due_at) for t in tasks}) == len(tasks)  # no period twice
    monthly = [t for t in tasks if t.template == "advisor.monthly_contact"]
    assert all(start <= t.created_at < end for t in monthly)
    satisfied = {t.evidence_event_id: t for t in monthly if t.evidence_event_id is not None}
    assert set(satisfied) == set(evidence.values()) and len(evidence) == 2
    for task in satisfied.values():
        assert (task.status, task.closed_by) == ("done", "satisfied_by_contact")
    assert satisfied[evidence["pending"]].created_at == satisfied[evidence["pending"]].closed_at  # never open


async def due_monthly(process: Process, before: datetime) -> datetime | None:
    """When the customer's next monthly occurrence opens, if before `before`."""
    from tierflow_notification.adapters.tables import steps

    async with process.parts.engine.connect() as conn:
        row = (
            await conn.execute(
                select(steps.c.due_at).where(
                    steps.c.name == "monthly_contact", steps.c.status == "pending", steps.c.due_at < before
                )
            )
        ).first()
    return None if row is None else row.due_at


async def test_the_worker_reads_contact_logged_and_closes_the_open_task_of_the_period(
    ns: Namespace, settings: NotificationSettings
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = SetClock(now - timedelta(days=40))
    before = await start_process(settings, clock)
    try:
        customer = b.customer("A2", clock.moment, consents=ALL_CONSENTS, timezone=zone_where_it_is(12, clock.moment))
        await before.feed(customer, b.routing_decided("A2", 1, "private_advisor", at=clock.moment, advisor_id="ADV1"))
        while clock.moment < now - timedelta(hours=2):
            clock.moment = min(clock.moment + DAY, now - timedelta(hours=2))
            await before.sweep()
        open_monthly = [
            t for t in await tasks_of(before, "A2") if t.template == "advisor.monthly_contact" and t.status == "open"
        ]
    finally:
        await before.stop()
    assert open_monthly
    call = logged_contact("A2", now - timedelta(hours=1))
    async with running(build(settings)):
        await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.CONTACT), [call])
        checker = await start_process(settings, SetClock(now))
        try:

            async def closed() -> bool:
                rows = await tasks_of(checker, "A2")
                return any(t.evidence_event_id == call.event_id and t.status == "done" for t in rows)

            await wait_until(closed, timeout_s=30, what="the month's task closed by the logged contact")
        finally:
            await checker.stop()
