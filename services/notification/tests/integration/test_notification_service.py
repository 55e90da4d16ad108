"""Outreach on the real broker and PostgreSQL: planned once, cancelled on a new route, a return or a
withdrawn consent, advisor tasks on the workbench API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select

from tierflow_common.auth import mint_token
from tierflow_common.clock import zone_where_it_is
from tierflow_common.db.engine import create_engine
from tierflow_common.events import topics
from tierflow_common.events.ids import derived_id
from tierflow_common.infra.embedded import free_port
from tierflow_notification.adapters import contacts
from tierflow_notification.adapters.tables import steps as step_table
from tierflow_notification.settings import NotificationSettings
from tierflow_notification.worker import build
from tierflow_testing import builders as b
from tierflow_testing.kafka import produce, read_topic, wait_until
from tierflow_testing.plugin import Namespace, running

from .conftest import ALL_CONSENTS, SECRET, add_customer, decide, outcomes, records

pytestmark = pytest.mark.integration


def bearer(*scopes: str, advisor: str | None = "ADV1") -> dict[str, str]:
    """An advisor's token (since issue 11 task:read/task:write reach only the advisor_id claim's tasks)."""
    token = mint_token(secret=SECRET, subject="advisor-ui", scopes=list(scopes), advisor_id=advisor)
    return {"Authorization": f"Bearer {token}"}


async def test_decisions_plan_steps_once_and_new_routes_returns_and_withdrawals_cancel_them(
    ns: Namespace, settings: NotificationSettings, log_reader
) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    async with running(build(settings), ops_port=port):
        for customer in ("A1", "R1", "R2", "W1"):
            await add_customer(ns, customer)
        await decide(ns, "A1", 1, "private_advisor", advisor_id="ADV1")
        await decide(ns, "A1", 1, "private_advisor", advisor_id="ADV1")  # redelivered: nothing twice
        for customer in ("R1", "R2", "W1"):
            await decide(ns, customer, 1, "reactivation")

        async def day0_out() -> bool:
            got = await records(ns)
            return all(("reactivation.push_day0", "sent", "delivered") in outcomes(got, c) for c in ("R1", "R2", "W1"))

        await wait_until(day0_out, timeout_s=30, what="the day-0 pushes")
        await decide(ns, "R1", 2, "robo_advisor")  # a new route: the rest of the ladder is cancelled
        await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.LOGIN), [b.login("R2", datetime.now(UTC))])
        await add_customer(ns, "W1", {**ALL_CONSENTS, "marketing_sms": False, "marketing_phone": False})

        expected = {
            "A1": [
                ("advisor.new_customer", "sent", "delivered"),
                ("advisor.welcome", "sent", "delivered"),
            ],
            "R1": [
                ("reactivation.call_day7", "suppressed", "route_changed"),
                ("reactivation.market_recovering", "suppressed", "route_changed"),
                ("reactivation.push_day0", "sent", "delivered"),
                ("reactivation.sms_day3", "suppressed", "route_changed"),
                ("robo.onboarding", "sent", "delivered"),
            ],
            "R2": [
                ("reactivation.call_day7", "suppressed", "customer_returned"),
                ("reactivation.market_recovering", "suppressed", "customer_returned"),
                ("reactivation.push_day0", "sent", "delivered"),
                ("reactivation.sms_day3", "suppressed", "customer_returned"),
            ],
            "W1": [
                ("reactivation.call_day7", "suppressed", "consent_withdrawn"),
                ("reactivation.market_recovering", "suppressed", "consent_withdrawn"),
                ("reactivation.push_day0", "sent", "delivered"),
                ("reactivation.sms_day3", "suppressed", "consent_withdrawn"),
            ],
        }

        async def settled() -> bool:
            got = await records(ns)
            return all(outcomes(got, c) == want for c, want in expected.items())

        await wait_until(settled, timeout_s=30, what=f"the records {expected}")
        for customer, want in expected.items():
            assert sorted(await log_reader(customer)) == want  # the log holds each record once

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
            assert (await api.get("/v1/tasks?advisor_id=ADV1")).status_code == 401
            assert (await api.get("/v1/tasks?advisor_id=ADV1", headers=bearer("route:read"))).status_code == 403
            listed = (await api.get("/v1/tasks?advisor_id=ADV1", headers=bearer("task:read"))).json()
            assert [(t["customer_id"], t["template"], t["status"]) for t in listed["items"]] == [
                ("A1", "advisor.new_customer", "open")
            ]
            task_id = listed["items"][0]["task_id"]
            assert (await api.post(f"/v1/tasks/{task_id}/done", headers=bearer("task:read"))).status_code == 403
            done = await api.post(f"/v1/tasks/{task_id}/done", headers=bearer("task:write"))
            assert (done.status_code, done.json()["status"], done.json()["closed_by"]) == (200, "done", "advisor-ui")
            still_open = (await api.get("/v1/tasks?advisor_id=ADV1", headers=bearer("task:read"))).json()
            assert still_open["items"] == []
            bad = await api.get("/v1/tasks?advisor_id=ADV1&status=lost", headers=bearer("task:read"))
            assert bad.status_code == 422 and "status" in bad.json()["detail"]


async def test_events_dated_years_ahead_are_refused_and_real_changes_still_apply(
    ns: Namespace, settings: NotificationSettings
) -> None:
    """The profile's admission rule decides here too: a consent grant or a login dated years ahead
    is dead-lettered and locks nothing, so a later real withdrawal and the win-back ladder still work."""
    bootstrap = ns.infra.kafka_bootstrap
    ahead = datetime.now(UTC) + timedelta(days=3 * 365)
    noon = zone_where_it_is(12)
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="t"
    )
    try:
        async with running(build(settings)):
            await add_customer(ns, "F1")
            await add_customer(ns, "F2")
            grant = b.customer("F1", ahead, consents=ALL_CONSENTS, timezone=noon)
            login = b.login("F2", ahead)
            await produce(bootstrap, ns.topics.name(topics.CUSTOMER), [grant])
            await produce(bootstrap, ns.topics.name(topics.LOGIN), [login])
            dead = await read_topic(bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=2)
            headers = {orjson.loads(m.value)["event_id"]: dict(m.headers) for m in dead}
            for refused in (grant, login):
                assert headers[str(refused.event_id)]["tierflow.error.kind"] == b"rejected"
                assert b"ahead of when it was produced" in headers[str(refused.event_id)]["tierflow.error"]
                assert headers[str(refused.event_id)]["tierflow.service"] == b"notification"

            withdrawn = {**ALL_CONSENTS, "marketing_push": False, "marketing_sms": False, "marketing_email": False}
            withdrawal = b.customer("F1", datetime.now(UTC), consents=withdrawn, timezone=noon)
            await produce(bootstrap, ns.topics.name(topics.CUSTOMER), [withdrawal])

            async def withdrawal_applied() -> bool:
                async with engine.connect() as conn:
                    known = await contacts.load_contacts(conn, ["F1"])
                return "F1" in known and known["F1"].consents_as_of == withdrawal.occurred_at

            await wait_until(withdrawal_applied, timeout_s=30, what="the real withdrawal to be applied")
            async with engine.connect() as conn:
                known = await contacts.load_contacts(conn, ["F1", "F2"])
            assert dict(known["F1"].consents) == withdrawn
            assert known["F2"].last_active_at is None  # the login from the future locked nothing

            await decide(ns, "F2", 1, "reactivation")

            async def winback_sent() -> bool:
                return ("reactivation.push_day0", "sent", "delivered") in outcomes(await records(ns), "F2")

            await wait_until(winback_sent, timeout_s=30, what="F2's win-back push")
    finally:
        await engine.dispose()


async def test_a_customer_event_with_other_content_under_its_id_is_a_conflict_and_changes_nothing(
    ns: Namespace, settings: NotificationSettings
) -> None:
    bootstrap = ns.infra.kafka_bootstrap
    noon = zone_where_it_is(12)
    url = settings.infra.database_url.get_secret_value()
    engine = create_engine(url, schema=settings.db_schema, application_name="t")
    grant = b.customer("X1", datetime.now(UTC), consents=ALL_CONSENTS, timezone=noon)
    other = grant.model_copy(update={"payload": grant.payload.model_copy(update={"closed": True})})
    try:
        async with running(build(settings)):
            await produce(bootstrap, ns.topics.name(topics.CUSTOMER), [grant])

            async def projected() -> bool:
                async with engine.connect() as conn:
                    return "X1" in await contacts.load_contacts(conn, ["X1"])

            await wait_until(projected, timeout_s=30, what="X1's projection")
            await produce(bootstrap, ns.topics.name(topics.CUSTOMER), [other])
            dead = await read_topic(bootstrap, ns.topics.name(topics.DEAD_LETTER), min_count=1)
        assert [dict(d.headers)["tierflow.error.kind"] for d in dead] == [b"conflict"]
        async with engine.connect() as conn:
            known = await contacts.load_contacts(conn, ["X1"])
        assert known["X1"].closed is False  # the copy applied first stands
    finally:
        await engine.dispose()


async def test_a_holdout_decision_records_its_marketing_suppressed_and_its_service_messages_still_go(
    ns: Namespace, settings: NotificationSettings, log_reader
) -> None:  # type: ignore[no-untyped-def]
    holdout = {"experiment": "programme-holdout", "arm": "holdout", "assignment_probability": 0.1}
    control = {"experiment": "robo-for-c-1", "arm": "control", "assignment_probability": 0.5}
    async with running(build(settings)):
        for customer in ("H1", "H2", "K1"):
            await add_customer(ns, customer)
        await decide(ns, "H1", 1, "private_advisor", advisor_id="ADV1", experiment=holdout)
        await decide(ns, "H2", 1, "reactivation", experiment=holdout)
        await decide(ns, "K1", 1, "private_advisor", advisor_id="ADV1", experiment=control)
        expected = {
            "H1": [
                ("advisor.new_customer", "sent", "delivered"),  # a service message: the holdout still gets it
                ("advisor.welcome", "suppressed", "holdout"),
            ],
            "H2": [
                ("reactivation.call_day7", "suppressed", "holdout"),
                ("reactivation.market_recovering", "suppressed", "holdout"),
                ("reactivation.push_day0", "suppressed", "holdout"),
                ("reactivation.sms_day3", "suppressed", "holdout"),
            ],
            "K1": [
                ("advisor.new_customer", "sent", "delivered"),  # another arm is no holdout
                ("advisor.welcome", "sent", "delivered"),
            ],
        }

        async def settled() -> bool:
            got = await records(ns)
            return all(outcomes(got, c) == want for c, want in expected.items())

        await wait_until(settled, timeout_s=30, what=f"the records {expected}")
        for customer, want in expected.items():
            assert sorted(await log_reader(customer)) == want  # the log holds each record once
        # The arm follows the decision: a later decision without the holdout gets its marketing.
        await decide(ns, "H2", 2, "robo_advisor")

        async def onboarded() -> bool:
            return ("robo.onboarding", "sent", "delivered") in outcomes(await records(ns), "H2")

        await wait_until(onboarded, timeout_s=30, what="H2's onboarding once out of the holdout")


async def test_a_new_arm_with_the_same_playbook_continues_it_and_sends_nothing_twice(
    ns: Namespace, settings: NotificationSettings, log_reader
) -> None:  # type: ignore[no-untyped-def]
    """An experiment starting (control arm, same flow) is a new decision but not a new playbook: the steps
    in force stay and nothing is planned again; joining the holdout suppresses the pending marketing steps;
    another flow replaces the plan."""
    control = {"experiment": "reactivation-sms", "arm": "control", "assignment_probability": 0.5}
    holdout = {"experiment": "programme-holdout", "arm": "holdout", "assignment_probability": 0.1}
    engine = create_engine(
        settings.infra.database_url.get_secret_value(), schema=settings.db_schema, application_name="test"
    )

    async def steps_of(customer: str) -> list[tuple[str, str, int]]:
        """(name, status, version of the decision that planned it), sorted."""
        versions = {derived_id("routing", customer, v): v for v in range(1, 5)}
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(step_table.c.name, step_table.c.status, step_table.c.decision_id).where(
                    step_table.c.customer_id == customer
                )
            )
            return sorted((r.name, r.status, versions[r.decision_id]) for r in rows)

    async def seen(customer: str, version: int) -> bool:
        async with engine.connect() as conn:
            versions, _ = await contacts.seen_decisions_for_update(conn, customer_ids=[customer])
            return versions.get(customer) == version

    try:
        async with running(build(settings)):
            await add_customer(ns, "E1")
            await decide(ns, "E1", 1, "reactivation")

            async def day0_out() -> bool:
                return ("reactivation.push_day0", "sent", "delivered") in outcomes(await records(ns), "E1")

            await wait_until(day0_out, timeout_s=30, what="E1's day-0 push")
            ladder = [
                ("day0_push", "done", 1),
                ("day14_recovery", "pending", 1),
                ("day3_sms", "pending", 1),
                ("day7_call", "pending", 1),
            ]
            assert await steps_of("E1") == ladder

            await decide(ns, "E1", 2, "reactivation", experiment=control)
            await wait_until(lambda: seen("E1", 2), timeout_s=30, what="decision 2 applied")
            assert await steps_of("E1") == ladder  # nothing planned again, nothing cancelled

            await decide(ns, "E1", 3, "reactivation", experiment=holdout)
            await wait_until(lambda: seen("E1", 3), timeout_s=30, what="decision 3 applied")
            assert await steps_of("E1") == [
                ("day0_push", "done", 1),
                ("day14_recovery", "cancelled", 1),
                ("day3_sms", "cancelled", 1),
                ("day7_call", "cancelled", 1),
            ]

            await decide(ns, "E1", 4, "robo_advisor")

            async def onboarded() -> bool:
                return ("robo.onboarding", "sent", "delivered") in outcomes(await records(ns), "E1")

            await wait_until(onboarded, timeout_s=30, what="E1's onboarding after a new flow")
        assert sorted(await log_reader("E1")) == [
            ("reactivation.call_day7", "suppressed", "holdout"),
            ("reactivation.market_recovering", "suppressed", "holdout"),
            ("reactivation.push_day0", "sent", "delivered"),  # once, though four decisions came
            ("reactivation.sms_day3", "suppressed", "holdout"),
            ("robo.onboarding", "sent", "delivered"),
        ]
    finally:
        await engine.dispose()
