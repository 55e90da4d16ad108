"""Outbound call capacity on the real PostgreSQL: over 2,000 customers due a call at once, each calling day's calls
go to the tiers by their shares (within 2 points) while every tier has calls waiting, two runners together never
pass a tier's limit or the day's capacity, the calls over a share wait for the next day (recorded deferred
`call_share_spent`), and every customer's call is made in the end: nothing lost, none twice.

Two notification processes' step runners sweep concurrently on a clock the test moves a day at a time (as in
test_recurring_service.py); advisor tasks go to the real workbench store.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from tierflow_common.auth import TokenVerifier
from tierflow_notification.adapters.calls import calls_used
from tierflow_notification.adapters.tables import advisor_tasks, notifications
from tierflow_notification.api.app import create_app
from tierflow_notification.bootstrap import TaskApiDependencies
from tierflow_notification.domain.calls import SHARE_SPENT
from tierflow_notification.domain.playbooks import load_playbooks
from tierflow_notification.settings import NotificationSettings
from tierflow_testing import builders as b
from tierflow_testing.clock import SetClock

from .conftest import ALL_CONSENTS, bearer
from .test_recurring_service import DAY, start_process

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
PER_DAY = 400
SHARES = {"A": 0.30, "B": 0.40, "C": 0.20, "D": 0.10}
MIX = {"A": 400, "B": 600, "C": 600, "D": 400}  # 2,000 customers, not in the shares' proportions
PLAYBOOK = f"""
version: calls-test
governance:
  calls: {{per_day: {PER_DAY}, shares: {SHARES}, timezone: Asia/Shanghai, give_up_after_days: 30}}
playbooks:
  private_advisor: []
  robo_advisor: []
  community: []
  reactivation:
    - {{name: call, template: reactivation.call_day7, channels: [advisor_task], message_class: service,
       outbound_call: true, task_due_days: 1}}
"""


async def test_each_day_s_calls_follow_the_tier_shares_and_every_call_is_made_once(
    settings: NotificationSettings, tmp_path: Path
) -> None:
    playbook = tmp_path / "calls.yaml"
    playbook.write_text(PLAYBOOK)
    settings = settings.model_copy(update={"playbook_file": playbook})
    assert load_playbooks(playbook).governance.calls.limits() == dict(zip("ABCD", (120, 160, 80, 40), strict=True))
    clock = SetClock(datetime(2027, 1, 4, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    start_day = clock.moment.astimezone(SHANGHAI).date()
    first, second = await start_process(settings, clock), await start_process(settings, clock)
    try:
        customers = [(f"{tier}{n:04d}", tier) for tier, count in MIX.items() for n in range(count)]
        events = []
        for cid, tier in customers:
            events.append(b.customer(cid, clock.moment, consents=ALL_CONSENTS))
            events.append(b.routing_decided(cid, 1, "reactivation", at=clock.moment, tier=tier))
        for start in range(0, len(events), 500):
            await first.feed(*events[start : start + 500])

        daily: list[dict[str, int]] = []
        for _ in range(30):
            await asyncio.gather(first.sweep(), second.sweep())
            async with first.parts.engine.connect() as conn:
                used = await calls_used(conn, day=clock.moment.astimezone(SHANGHAI).date())
            today = {tier.value: n for tier, n in used.items()}
            daily.append(today)
            if not any(_left_after(daily)[-1].values()):
                break
            clock.moment += DAY

        app = create_app(
            TaskApiDependencies(
                engine=first.parts.engine,
                verifier=TokenVerifier.from_settings(settings),
                clock=clock,
                calls=load_playbooks(playbook).governance.calls,
            )
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://task-api") as api:
            shown = await api.get("/v1/calls", params={"day": str(start_day)}, headers=bearer("task:read:all"))
            refused = await api.get("/v1/calls", headers=bearer("task:read", advisor="ADV1"))
            no_such_day = await api.get("/v1/calls", params={"day": "2027-02-30"}, headers=bearer("task:read:all"))
            today = (await api.get("/v1/calls", headers=bearer("task:read:all"))).json()
        async with first.parts.engine.connect() as conn:
            rows = list(await conn.execute(select(advisor_tasks.c.customer_id, advisor_tasks.c.tier)))
            per_customer = (
                await conn.execute(
                    select(func.count()).select_from(advisor_tasks).group_by(advisor_tasks.c.customer_id)
                )
            ).scalars()
            deferred = await conn.scalar(
                select(func.count()).select_from(notifications).where(notifications.c.reason == SHARE_SPENT)
            )
    finally:
        await first.stop()
        await second.stop()

    # Nothing lost, none twice: every customer's call became one task, of the customer's tier.
    assert Counter(row.tier for row in rows) == Counter(MIX) and set(per_customer) == {1}
    assert all(row.customer_id.startswith(row.tier) for row in rows)
    # No day over the capacity; no tier over its limit on any day, with two runners taking calls together.
    limits = {"A": 120, "B": 160, "C": 80, "D": 40}
    assert all(sum(day.values()) <= PER_DAY and all(day[t] <= limits[t] for t in limits) for day in daily)
    # While every tier had calls waiting, each day's calls went to the tiers by their shares (within 2 points).
    contested = [day for day, left in zip(daily, _left_after(daily), strict=True) if all(left[t] > 0 for t in MIX)]
    assert contested, daily
    for day in contested:
        total = sum(day.values())
        assert total == PER_DAY, day
        assert all(abs(day[t] / total - SHARES[t]) <= 0.02 for t in SHARES), day
    # GET /v1/calls shows a day's calls against the limits, to a supervisor only.
    assert shown.status_code == 200 and refused.status_code == 403, refused.text
    assert no_such_day.status_code == 422 and "not a calendar date" in no_such_day.json()["detail"]
    assert shown.json() == {
        "day": str(start_day),
        "per_day": PER_DAY,
        "tiers": [{"tier": t, "share": SHARES[t], "limit": limits[t], "used": limits[t]} for t in "ABCD"],
    }
    assert today["day"] == str(clock.moment.astimezone(SHANGHAI).date()) and today["tiers"] != shown.json()["tiers"]
    # The calls over a share waited a day at a time, each wait recorded.
    assert deferred is not None and deferred >= sum(MIX.values()) - PER_DAY


def _left_after(daily: list[dict[str, int]]) -> list[dict[str, int]]:
    """The calls each tier still had waiting at the end of each day."""
    left, out = dict(MIX), []
    for day in daily:
        left = {t: left[t] - day[t] for t in MIX}
        out.append(dict(left))
    return out
