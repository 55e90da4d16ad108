"""Timers and providers for real: the ladder on an accelerated clock, a webhook that fails then
recovers, and a crash between "sent" and "recorded"."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tierflow_common.auth import mint_token
from tierflow_common.clock import AcceleratedClock
from tierflow_common.events import topics
from tierflow_common.infra.embedded import free_port
from tierflow_notification.settings import NotificationSettings
from tierflow_notification.worker import build
from tierflow_testing import builders as b
from tierflow_testing.http import serving
from tierflow_testing.kafka import produce, wait_until
from tierflow_testing.plugin import Namespace, running
from tierflow_testing.processes import log_tails, start_service, terminate

from .conftest import SECRET, add_customer, decide, outcomes, records

pytestmark = pytest.mark.integration

DAY_S = 4.0  # on the accelerated clock a day passes in four seconds


async def test_the_reactivation_ladder_runs_on_time_and_stops_when_the_customer_logs_in(
    ns: Namespace, settings: NotificationSettings
) -> None:
    port = free_port()
    fast = settings.model_copy(update={"clock_speed": 86_400 / DAY_S})
    service_time = AcceleratedClock(fast.clock_speed)  # made just before the service's: a little ahead of it
    async with running(build(fast), ops_port=port):
        await add_customer(ns, "BACK")
        await add_customer(ns, "GONE")
        await decide(ns, "BACK", 1, "reactivation")
        await decide(ns, "GONE", 1, "reactivation")

        async def day0() -> bool:
            got = await records(ns)
            return all(("reactivation.push_day0", "sent", "delivered") in outcomes(got, c) for c in ("BACK", "GONE"))

        await wait_until(day0, timeout_s=DAY_S * 2, what="both day-0 pushes")
        # BACK logs in before day 3, at the service's (accelerated) time: a login dated beyond the
        # future tolerance of that clock would be refused.
        login = b.login("BACK", service_time.now())
        await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.LOGIN), [login])

        async def ladder_done() -> bool:
            got = outcomes(await records(ns), "GONE")
            return ("reactivation.call_day7", "sent", "delivered") in got

        await wait_until(ladder_done, timeout_s=DAY_S * 12, what="GONE's day-7 call task")
        gone = outcomes(await records(ns), "GONE")
        assert [o for o in gone if o[1] == "sent"] == [
            ("reactivation.call_day7", "sent", "delivered"),
            ("reactivation.push_day0", "sent", "delivered"),
            ("reactivation.sms_day3", "sent", "delivered"),
        ]
        assert {o[2] for o in gone if o[1] == "deferred"} <= {"quiet_hours"}  # nights pass quickly too
        back = [o for o in outcomes(await records(ns), "BACK") if o[2] != "quiet_hours"]
        assert back == [
            ("reactivation.call_day7", "suppressed", "customer_returned"),
            ("reactivation.market_recovering", "suppressed", "customer_returned"),
            ("reactivation.push_day0", "sent", "delivered"),
            ("reactivation.sms_day3", "suppressed", "customer_returned"),
        ]
        # The outreach queue is read with task:read:all since issue 11 (task:read is an advisor's own queue).
        token = mint_token(secret=SECRET, subject="outreach-desk", scopes=["task:read:all"])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
            queue = await api.get("/v1/tasks?queue=outreach", headers={"Authorization": f"Bearer {token}"})
        assert [(t["customer_id"], t["template"]) for t in queue.json()["items"]] == [
            ("GONE", "reactivation.call_day7")
        ]


class Receiver:
    """A provider endpoint: fails the first `failures` requests with 503, then accepts; remembers keys."""

    def __init__(self, failures: int = 0, on_first: object = None) -> None:
        self.failures = failures
        self.on_first = on_first
        self.seen: list[str] = []
        self.accepted: list[str] = []

    async def endpoint(self, request: Request) -> JSONResponse:
        key = request.headers["Idempotency-Key"]
        body = await request.json()
        assert body["notification_id"] == key and set(body) >= {"customer_id", "template", "flow"}
        self.seen.append(key)
        if len(self.seen) == 1 and callable(self.on_first):
            self.on_first()  # e.g. kill the sender after the message arrived, before it hears back
            await asyncio.sleep(5)
        if len(self.seen) <= self.failures:
            return JSONResponse({"error": "busy"}, status_code=503)
        if key not in self.accepted:
            self.accepted.append(key)  # a provider honouring Idempotency-Key acts once per key
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.endpoint, methods=["POST"])])


async def test_a_webhook_that_fails_then_recovers_gets_each_message_once(
    ns: Namespace, settings: NotificationSettings
) -> None:
    receiver = Receiver(failures=4)
    customers = ["H1", "H2", "H3"]
    async with serving(receiver.app()) as base:
        hooked = settings.model_copy(update={"webhook_url": f"{base}/hook", "breaker_threshold": 50})
        async with running(build(hooked)):
            for customer in customers:
                await add_customer(ns, customer)
                await decide(ns, customer, 1, "community")

            async def all_sent() -> bool:
                got = await records(ns)
                return all(("community.invitation", "sent", "delivered") in outcomes(got, c) for c in customers)

            await wait_until(all_sent, timeout_s=30, what="every invitation delivered")
    assert len(receiver.accepted) == 3 and len(set(receiver.accepted)) == 3
    assert len(receiver.seen) >= 3 + receiver.failures  # the failures were retried
    got = await records(ns)
    retried = [c for c in customers if ("community.invitation", "deferred", "provider_retry") in outcomes(got, c)]
    assert retried, "a failed delivery is recorded as deferred for a retry"
    assert all(outcomes(got, c).count(("community.invitation", "sent", "delivered")) == 1 for c in customers)


async def test_a_webhook_that_never_recovers_is_dead_lettered_without_holding_up_others(
    ns: Namespace, settings: NotificationSettings, log_reader
) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver(failures=1_000)
    async with serving(receiver.app()) as base:
        hooked = settings.model_copy(
            update={"webhook_url": f"{base}/hook", "delivery_max_attempts": 3, "breaker_threshold": 50}
        )
        async with running(build(hooked)):
            await add_customer(ns, "DEAD")
            await decide(ns, "DEAD", 1, "community")
            await add_customer(ns, "ADVISED")
            await decide(ns, "ADVISED", 1, "private_advisor", advisor_id="ADV9")  # the task does not use the hook

            async def gave_up() -> bool:
                got = await records(ns)
                return ("community.invitation", "failed", "provider_gave_up") in outcomes(got, "DEAD") and (
                    "advisor.welcome",
                    "failed",
                    "provider_gave_up",
                ) in outcomes(got, "ADVISED")

            await wait_until(gave_up, timeout_s=30, what="both hook messages dead-lettered")
    # Two messages used the hook (DEAD's invitation, ADVISED's welcome): three attempts each, then given up.
    assert sorted(Counter(receiver.seen).values()) == [3, 3]
    assert ("advisor.new_customer", "sent", "delivered") in await log_reader("ADVISED")
    assert await log_reader("DEAD") == [
        ("community.invitation", "deferred", "provider_retry"),
        ("community.invitation", "deferred", "provider_retry"),
        ("community.invitation", "failed", "provider_gave_up"),
    ]


async def test_a_crash_between_sent_and_recorded_delivers_again_under_the_same_key_and_records_once(
    ns: Namespace, settings: NotificationSettings, tmp_path: Path
) -> None:
    processes = []

    def kill_sender() -> None:
        os.kill(processes[-1].pid, signal.SIGKILL)

    receiver = Receiver(on_first=kill_sender)
    async with serving(receiver.app()) as base:
        env = {
            **ns.env("TIERFLOW_NOTIFICATION_", "notification"),
            "TIERFLOW_NOTIFICATION_JWT_SECRET": SECRET,
            "TIERFLOW_NOTIFICATION_WEBHOOK_URL": f"{base}/hook",
            "TIERFLOW_NOTIFICATION_SWEEP_INTERVAL_S": "0.1",
            "TIERFLOW_NOTIFICATION_SENDING_LEASE_S": "1",
        }
        processes.append(start_service("tierflow_notification", "run", env=env, log=tmp_path / "first.log"))
        await add_customer(ns, "K1")
        await decide(ns, "K1", 1, "robo_advisor")
        await wait_until(lambda: _exited(processes[0]), timeout_s=30, what="the sender killed mid-delivery")
        processes.append(start_service("tierflow_notification", "run", env=env, log=tmp_path / "second.log"))
        try:

            async def recorded() -> bool:
                return ("robo.onboarding", "sent", "delivered") in outcomes(await records(ns), "K1")

            await wait_until(recorded, timeout_s=30, what="the send recorded after the restart")
        finally:
            assert terminate(processes[-1]) == 0, log_tails(tmp_path)
    assert len(receiver.seen) == 2 and len(set(receiver.seen)) == 1  # delivered twice, one idempotency key
    assert len(receiver.accepted) == 1
    assert Counter(outcomes(await records(ns), "K1"))[("robo.onboarding", "sent", "delivered")] == 1


async def _exited(process: object) -> bool:
    return process.poll() is not None  # type: ignore[attr-defined]
