"""The community catalogue: validated at start-up, offered in order at its cadence, never an item twice. Pure."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tierflow_common.events.outputs import Flow, MessageClass, Priority
from tierflow_common.exceptions import ConfigurationError
from tierflow_notification.domain.catalogue import ItemKind, next_offers
from tierflow_notification.domain.offers import Offered, OfferLog, plan_all_offers, plan_offers
from tierflow_notification.domain.outreach import Decision, step_id
from tierflow_notification.domain.playbooks import load_playbooks, parse_playbooks
from tierflow_notification.domain.steps import StepStatus, StoredStep

FILE = Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml"
DEFAULT = load_playbooks(FILE)
CATALOGUE = DEFAULT.catalogue
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ORDER = [
    "community.beginner_course",
    "community.investing_challenge",
    "community.interest_group",
    "community.advisor_session",
]


def decision(flow: Flow = Flow.COMMUNITY, *, version: int = 1, active: bool = True) -> Decision:
    return Decision("C1", uuid.uuid5(uuid.NAMESPACE_OID, f"C1-{version}"), version, flow, Priority.NORMAL, None, active)


def test_the_shipped_catalogue_has_the_four_kinds_in_order_every_14_days_from_day_7() -> None:
    assert CATALOGUE is not None
    assert [(i.kind, i.template) for i in CATALOGUE.items] == list(zip(ItemKind, ORDER, strict=True))
    assert (CATALOGUE.flow, CATALOGUE.first_after_days, CATALOGUE.every_days) == (Flow.COMMUNITY, 7, 14)


def test_a_first_plan_offers_every_item_in_order_at_the_cadence() -> None:
    assert CATALOGUE is not None
    offers = next_offers(CATALOGUE, offered=(), last_offered_at=None, now=NOW)
    assert [(o.item.template, o.due_at - NOW) for o in offers] == [
        (template, (7 + 14 * n) * DAY) for n, template in enumerate(ORDER)
    ]


def test_coming_back_resumes_at_the_next_item_and_keeps_the_cadence_after_the_last_offer() -> None:
    assert CATALOGUE is not None
    offered = {ORDER[0], ORDER[1]}
    # The last offer went out a day ago: the next waits out the 14 days, not the 7 after the decision.
    offers = next_offers(CATALOGUE, offered=offered, last_offered_at=NOW - DAY, now=NOW)
    assert [(o.item.template, o.due_at - NOW) for o in offers] == [(ORDER[2], 13 * DAY), (ORDER[3], 27 * DAY)]
    # Long ago: the usual first offer a week after the decision.
    offers = next_offers(CATALOGUE, offered=offered, last_offered_at=NOW - 90 * DAY, now=NOW)
    assert [o.due_at - NOW for o in offers] == [7 * DAY, 21 * DAY]
    # Not in order: an item skipped earlier (its message suppressed) comes first.
    offers = next_offers(CATALOGUE, offered={ORDER[0], ORDER[2]}, last_offered_at=None, now=NOW)
    assert [o.item.template for o in offers] == [ORDER[1], ORDER[3]]
    assert next_offers(CATALOGUE, offered=set(ORDER), last_offered_at=NOW, now=NOW) == []


def test_offers_are_marketing_steps_of_the_decision_with_ids_from_the_decision_and_the_item() -> None:
    planned = plan_offers(decision(), CATALOGUE, Offered(), now=NOW)
    assert [p.name for p in planned] == [
        "catalogue.beginner_course",
        "catalogue.investing_challenge",
        "catalogue.interest_group",
        "catalogue.advisor_session",
    ]
    assert all(p.message_class is MessageClass.MARKETING and not p.stop_when_active for p in planned)
    assert planned[0].step_id == step_id(decision().decision_id, "catalogue.beginner_course")
    assert plan_offers(decision(), CATALOGUE, Offered(), now=NOW) == planned  # redelivered: the same ids


@pytest.mark.parametrize("other", [decision(Flow.REACTIVATION), decision(Flow.ROBO_ADVISOR), decision(active=False)])
def test_only_active_decisions_of_the_catalogues_flow_are_offered_anything(other: Decision) -> None:
    assert plan_offers(other, CATALOGUE, Offered(), now=NOW) == []
    assert plan_offers(decision(), None, Offered(), now=NOW) == []


def _stored(template: str, status: StepStatus) -> StoredStep:
    planned = plan_offers(decision(), CATALOGUE, Offered(), now=NOW - 30 * DAY)
    p = next(p for p in planned if p.template == template)
    return p.stored(status, attempts=1)


def test_what_was_sent_or_is_being_sent_counts_as_offered_and_pending_does_not() -> None:
    log = OfferLog(sent={"C1": {ORDER[0]: NOW - 20 * DAY}})
    active = [_stored(ORDER[1], StepStatus.SENDING), _stored(ORDER[2], StepStatus.PENDING)]
    assert log.offered("C1", active) == Offered(frozenset({ORDER[0], ORDER[1]}), NOW - 20 * DAY)
    back = replace(decision(version=3))
    planned = plan_all_offers({"C1": back}, CATALOGUE, log, active, now=NOW)
    assert [p.template for p in planned] == [ORDER[2], ORDER[3]]
    assert all(p.decision_id == back.decision_id for p in planned)


def _with_catalogue(**catalogue: Any) -> str:
    document = yaml.safe_load(FILE.read_text())
    document["catalogue"] = {**document["catalogue"], **json.loads(json.dumps(catalogue))}
    return yaml.safe_dump(document)  # deep copies: a shared list would be written as an anchor, which is refused


ITEM = {"name": "course", "kind": "beginner_course", "template": "community.course", "channels": ["push"]}


@pytest.mark.parametrize(
    ("catalogue", "message"),
    [
        ({"items": []}, "catalogue.items"),
        ({"items": [ITEM, {**ITEM, "template": "community.other"}]}, "item names must be unique: ['course']"),
        ({"items": [ITEM, {**ITEM, "name": "other"}]}, "item templates must be unique: ['community.course']"),
        ({"items": [{**ITEM, "kind": "webinar"}]}, "catalogue.items.0.kind"),
        ({"items": [{**ITEM, "channels": []}]}, "catalogue.items.0.channels"),
        ({"items": [{**ITEM, "channels": ["fax"]}]}, "catalogue.items.0.channels.0"),
        ({"items": [{**ITEM, "channels": ["advisor_task"]}]}, "not an advisor task"),
        ({"every_days": 0}, "catalogue.every_days"),
        ({"flow": "branch"}, "catalogue.flow"),
    ],
)
def test_a_malformed_catalogue_stops_the_service_with_its_path(catalogue: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_playbooks(_with_catalogue(**catalogue), source="p.yaml")
    assert message in str(refused.value)


def test_a_file_without_a_catalogue_offers_nothing() -> None:
    document = yaml.safe_load(FILE.read_text())
    del document["catalogue"]
    assert parse_playbooks(yaml.safe_dump(document)).catalogue is None
