"""Outreach on the real broker and PostgreSQL: planned once, cancelled on a new route, a return or a
withdrawn consent, advisor tasks on the workbench API."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tierflow_common.auth import mint_token
from tierflow_common.events import topics
from tierflow_common.infra.embedded import free_port
from tierflow_notification.settings import NotificationSettings
from tierflow_notification.worker import build
from tierflow_testing import builders as b
from tierflow_testing.kafka import produce, wait_until
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
                ("reactivation.push_day0", "sent", "delivered"),
                ("reactivation.sms_day3", "suppressed", "route_changed"),
                ("robo.onboarding", "sent", "delivered"),
            ],
            "R2": [
                ("reactivation.call_day7", "suppressed", "customer_returned"),
                ("reactivation.push_day0", "sent", "delivered"),
                ("reactivation.sms_day3", "suppressed", "customer_returned"),
            ],
            "W1": [
                ("reactivation.call_day7", "suppressed", "consent_withdrawn"),
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
