"""Issue-6 scenario: routing decisions turned into recorded notifications by one notification process.

N customers (consents given, a timezone where it is daytime, so quiet hours do not defer) each get
one routing decision, flows in turn: private_advisor, robo_advisor, community, reactivation. The
service plans each decision's steps in the consumer batch and the step runner governs, delivers
(log adapter and advisor-task store) and records the day-0 ones. Measured: decisions consumed and
planned per second, and decisions per second until every day-0 notification is recorded, beside
the raw consume ceiling of the same topic.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from tierflow_cli.bench.common import (
    Bench,
    Phase,
    console,
    migrate_schemas,
    print_table,
    produce_all,
    raw_consume_topic,
    start_services,
    stop_all,
    wait_for_group,
)
from tierflow_cli.services import WORKERS
from tierflow_common.clock import zone_where_it_is
from tierflow_common.db.engine import create_engine
from tierflow_common.events import CustomerUpdated, RoutingDecided, encode_event
from tierflow_common.events.ids import derived_id
from tierflow_common.events.topics import CUSTOMER, ROUTING, Topics
from tierflow_common.kafka.admin import ensure_topics
from tierflow_notification.domain.outreach import Decision, plan_steps
from tierflow_notification.domain.playbooks import load_playbooks
from tierflow_notification.settings import NotificationSettings

NOTIFICATION = WORKERS[3]
FLOWS = ("private_advisor", "robo_advisor", "community", "reactivation")
CONSENTS = {"marketing_push": True, "marketing_sms": True, "marketing_email": True, "marketing_phone": True}


class _Message:
    __slots__ = ("key", "topic", "value")

    def __init__(self, topic: str, key: bytes, value: bytes) -> None:
        self.topic, self.key, self.value = topic, key, value


def events(decisions: int, now: datetime) -> tuple[list[_Message], int]:
    """Customer events then decisions; and how many day-0 records the default playbooks will make."""
    zone = zone_where_it_is(12, now)  # noon: quiet hours do not defer
    playbooks = load_playbooks(Path(NotificationSettings.model_fields["playbook_file"].default))
    messages: list[_Message] = []
    day0 = 0
    for n in range(decisions):
        cid = f"N{n:07d}"
        customer = CustomerUpdated.model_validate(
            {
                "event_id": uuid.uuid4(),
                "occurred_at": now,
                "source": "bench",
                "customer_id": cid,
                "payload": {
                    "investor_type": "individual",
                    "risk_level": "C3",
                    "consents": CONSENTS,
                    "timezone": zone,
                    "region": "shenzhen",
                },
            }
        )
        messages.append(_Message(CUSTOMER, cid.encode(), encode_event(customer)))
    for n in range(decisions):
        cid, flow = f"N{n:07d}", FLOWS[n % len(FLOWS)]
        decision_id = derived_id("bench-routing", cid, 1)
        advisor = f"ADV{n % 200:03d}" if flow == "private_advisor" else None
        event = RoutingDecided.model_validate(
            {
                "event_id": decision_id,
                "occurred_at": now,
                "source": "tierflow-routing",
                "customer_id": cid,
                "payload": {
                    "decision_id": decision_id,
                    "version": 1,
                    "flow": flow,
                    "advisor_id": advisor,
                    "priority": "normal",
                    "tier": {"private_advisor": "A", "robo_advisor": "B", "community": "C", "reactivation": "D"}[flow],
                    "reasons": [],
                    "policy_version": "bench",
                    "decided_at": now,
                },
            }
        )
        messages.append(_Message(ROUTING, cid.encode(), encode_event(event)))
        planned = plan_steps(
            Decision(cid, decision_id, 1, event.payload.flow, event.payload.priority, advisor, True), playbooks, now=now
        )
        day0 += sum(1 for step in planned if step.due_at <= now)
    return messages, day0


async def _recorded(database_url: str, schema: str) -> int:
    engine = create_engine(database_url, schema=schema, application_name="bench-count")
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM notifications"))).scalar_one())
    finally:
        await engine.dispose()


async def _wait_recorded(database_url: str, schema: str, expect: int) -> int:
    """Poll the notification log until it holds `expect` records; return the count."""
    for _ in range(36_000):
        count = await _recorded(database_url, schema)
        if count >= expect:
            return count
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{expect} notifications were not recorded within two hours")


async def run_throughput(*, decisions: int, partitions: int) -> None:
    async with Bench("notification") as bench:
        console.rule(f"[bold]notification[/]: {decisions:,} routing decisions, one process")
        now = datetime.now(UTC)
        started = time.perf_counter()
        messages, day0 = events(decisions, now)
        generated = Phase("generate customers and decisions", len(messages), time.perf_counter() - started)
        topics = Topics("bench-notification.")
        await ensure_topics(bench.options, topics.all, partitions=partitions)
        produced = await produce_all(bench.bootstrap, messages, topics)
        ceiling = await raw_consume_topic(bench.bootstrap, topics.name(ROUTING), decisions)
        database_url = bench.infra_env["DATABASE_URL"]
        await migrate_schemas(database_url, "nt", ["notification"])
        process = start_services(
            bench,
            [NOTIFICATION],
            topics.prefix,
            "nt",
            extra_env={"TIERFLOW_NOTIFICATION_SWEEP_INTERVAL_S": "0.2", "TIERFLOW_NOTIFICATION_SWEEP_BATCH": "2000"},
        )
        try:
            consumed = await wait_for_group(
                bench.options, "bench-nt-notification", [topics.name(CUSTOMER), topics.name(ROUTING)], expect=None
            )
            recorded = await _wait_recorded(database_url, "bench_nt_notification", day0)
            done_at = time.perf_counter()
        finally:
            stop_all(process)
    print_table(
        "notification throughput (decisions per second, one process)",
        [
            generated,
            produced,
            ceiling,
            Phase(
                "customers + decisions consumed, steps planned", consumed.handled, consumed.seconds, "committed offsets"
            ),
            Phase("decision -> day-0 notifications recorded", decisions, done_at - consumed.first_at),
        ],
        ceiling,
    )
    console.print(f"{recorded:,} notifications recorded ({day0:,} day-0 steps planned for {decisions:,} decisions)")
