"""Playbook arms on the real broker and PostgreSQL: a decision whose experiment arm names a playbook variant
gets the variant's steps, the control arm the flow's playbook; an unknown name falls back to the flow's
playbook (counted); switching variant plans anew, keeping it continues."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from tierflow_common.db.engine import create_engine
from tierflow_common.events.ids import derived_id
from tierflow_notification.adapters import contacts
from tierflow_notification.adapters.tables import customer_decisions
from tierflow_notification.adapters.tables import steps as step_table
from tierflow_notification.settings import NotificationSettings
from tierflow_notification.worker import build
from tierflow_testing.kafka import wait_until
from tierflow_testing.plugin import Namespace, running

from .conftest import add_customer, decide, outcomes, records

pytestmark = pytest.mark.integration


def arm(name: str, playbook: str | None = None) -> dict[str, Any]:
    """The experiment of a decision, as routing publishes it for an arm of short-win-back-1."""
    assignment: dict[str, Any] = {"experiment": "short-win-back-1", "arm": name, "assignment_probability": 0.5}
    return assignment if playbook is None else {**assignment, "playbook": playbook}


def fallbacks(reason: str) -> float:
    labels = {"flow": "reactivation", "reason": reason}
    return REGISTRY.get_sample_value("tierflow_notification_playbook_fallbacks_total", labels) or 0.0


async def test_a_playbook_arm_gets_the_variants_steps_and_the_control_arm_the_flows_playbook(
    ns: Namespace, settings: NotificationSettings, log_reader
) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="test"
    )

    async def steps_of(customer: str) -> list[tuple[str, str, str, int]]:
        """(name, template, status, version of the decision that planned it), sorted."""
        versions = {derived_id("routing", customer, v): v for v in range(1, 4)}
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(step_table.c.name, step_table.c.template, step_table.c.status, step_table.c.decision_id).where(
                    step_table.c.customer_id == customer
                )
            )
            return sorted((r.name, r.template, r.status, versions[r.decision_id]) for r in rows)

    async def plan_playbook(customer: str) -> str | None:
        async with engine.connect() as conn:
            c = customer_decisions.c
            return (await conn.execute(select(c.plan_playbook).where(c.customer_id == customer))).scalar_one()

    async def seen(customer: str, version: int) -> bool:
        async with engine.connect() as conn:
            versions, _ = await contacts.seen_decisions_for_update(conn, customer_ids=[customer])
            return versions.get(customer) == version

    def day0_out(customer: str) -> Any:
        async def check() -> bool:
            return ("reactivation.push_day0", "sent", "delivered") in outcomes(await records(ns), customer)

        return check

    unknown_before = fallbacks("unknown_playbook")
    try:
        async with running(build(settings)):
            for customer in ("S1", "K1", "U1"):
                await add_customer(ns, customer)
            await decide(ns, "S1", 1, "reactivation", experiment=arm("short_ladder", "reactivation_short"))
            await decide(ns, "K1", 1, "reactivation", experiment=arm("control"))
            await decide(ns, "U1", 1, "reactivation", experiment=arm("typo", "reactivation_shrot"))
            for customer in ("S1", "K1", "U1"):
                await wait_until(day0_out(customer), timeout_s=30, what=f"{customer}'s day-0 push")

            short = [
                ("day0_push", "reactivation.push_day0", "done", 1),
                ("day2_call", "reactivation.call_day2", "pending", 1),
            ]
            ladder = [
                ("day0_push", "reactivation.push_day0", "done", 1),
                ("day14_recovery", "reactivation.market_recovering", "pending", 1),
                ("day3_sms", "reactivation.sms_day3", "pending", 1),
                ("day7_call", "reactivation.call_day7", "pending", 1),
            ]
            assert await steps_of("S1") == short  # the variant the arm names
            assert await steps_of("K1") == ladder  # the control arm: the flow's own playbook
            assert await steps_of("U1") == ladder  # a name the file does not have: the flow's own, and said so
            assert fallbacks("unknown_playbook") - unknown_before == 1
            assert [await plan_playbook(c) for c in ("S1", "K1", "U1")] == ["reactivation_short", None, None]

            # The same variant again (say the arm's decision is re-issued for another reason): it continues.
            await decide(ns, "S1", 2, "reactivation", experiment=arm("short_ladder", "reactivation_short"))
            await wait_until(lambda: seen("S1", 2), timeout_s=30, what="S1's decision 2 applied")
            assert await steps_of("S1") == short

            # Another playbook with the same flow: not a continuation, the old plan is cancelled, the new planned.
            await decide(ns, "S1", 3, "reactivation", experiment=arm("control"))
            await wait_until(lambda: seen("S1", 3), timeout_s=30, what="S1's decision 3 applied")
            replanned = sorted(
                [
                    ("day0_push", "reactivation.push_day0", "done", 1),
                    ("day2_call", "reactivation.call_day2", "cancelled", 1),
                    ("day0_push", "reactivation.push_day0", "done", 3),  # the flow's ladder from its first rung
                    *[(name, template, "pending", 3) for name, template, _, _ in ladder[1:]],
                ]
            )

            async def switched() -> bool:
                return await steps_of("S1") == replanned

            await wait_until(switched, timeout_s=30, what=f"S1's steps {replanned}")
            assert await plan_playbook("S1") is None
        assert ("reactivation.push_day0", "sent", "delivered") in await log_reader("K1")
    finally:
        await engine.dispose()
