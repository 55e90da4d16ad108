"""The routing decision's tier travels to the planned steps and their later occurrences (then to the task). Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tierflow_common.events.outputs import Tier
from tierflow_notification.domain.outreach import next_occurrence, plan_steps
from tierflow_notification.domain.playbooks import load_playbooks
from tierflow_notification.handlers import decision_of
from tierflow_testing import builders as b

from .test_recurrence import stored

PLAYBOOKS = load_playbooks(Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml")
NOW = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)


def test_the_tier_of_the_decision_reaches_every_step_and_the_next_occurrence() -> None:
    event = b.routing_decided("A1", 1, "private_advisor", at=NOW, advisor_id="ADV1")
    decision = decision_of(event)
    assert decision.tier is Tier(event.payload.tier)
    decision = replace(decision, tier=Tier.B)
    planned = plan_steps(decision, PLAYBOOKS, now=NOW)
    assert planned and {p.tier for p in planned} == {Tier.B}
    monthly = next(p for p in planned if p.every == "P1M")
    following = next_occurrence(stored(monthly), now=monthly.due_at + timedelta(days=40))
    assert following is not None and following.tier is Tier.B


def test_a_step_planned_before_tiers_were_kept_plans_its_next_occurrence_without_one() -> None:
    event = b.routing_decided("A1", 1, "private_advisor", at=NOW, advisor_id="ADV1")
    planned = plan_steps(replace(decision_of(event), tier=None), PLAYBOOKS, now=NOW)
    monthly = next(p for p in planned if p.every == "P1M")
    following = next_occurrence(stored(monthly), now=monthly.due_at + timedelta(days=40))
    assert following is not None and following.tier is None
