"""The reason a win-back call records: its validation, the branch it chooses, what it replaces. Pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tierflow_common.events.outputs import Flow, MessageClass, NotificationChannel, NotificationStatus, Priority
from tierflow_common.exceptions import ConfigurationError
from tierflow_notification.domain.branching import REPLACED_BY_REASON, plan_branch
from tierflow_notification.domain.holdout import HOLDOUT
from tierflow_notification.domain.outreach import Decision, plan_steps, step_id
from tierflow_notification.domain.playbooks import PlaybookSet, ReasonPrompt, load_playbooks, parse_playbooks
from tierflow_notification.domain.reasons import (
    ReasonCode,
    ReasonContradictsOutcome,
    ReasonRequired,
    ReportDiffers,
    TaskOutcome,
    TaskReport,
    check_repeat,
    check_report,
)
from tierflow_notification.domain.steps import StepStatus, StoredStep

FILE = Path(__file__).parents[2] / "src" / "tierflow_notification" / "playbooks" / "default.yaml"
DEFAULT = load_playbooks(FILE)
NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
DECISION = Decision("D1", uuid.uuid5(uuid.NAMESPACE_OID, "D1"), 1, Flow.REACTIVATION, Priority.NORMAL, None, True)


def stored(status: StepStatus = StepStatus.PENDING) -> dict[str, StoredStep]:
    """The default ladder of DECISION as stored a week earlier, by step name."""
    planned = plan_steps(DECISION, DEFAULT, now=NOW - timedelta(days=7))
    return {p.name: p.stored(status) for p in planned}


def prompt() -> ReasonPrompt:
    step = DEFAULT.step_named(Flow.REACTIVATION, None, "day7_call")
    assert step is not None and step.asks_reason is not None
    return step.asks_reason


@pytest.mark.parametrize(
    ("report", "asks", "error"),
    [
        (TaskReport(), True, ReasonRequired),
        (TaskReport(TaskOutcome.REACHED), True, ReasonRequired),
        (TaskReport(TaskOutcome.NO_ANSWER, ReasonCode.APP_TOO_HARD), True, ReasonContradictsOutcome),
        (TaskReport(TaskOutcome.NO_ANSWER, ReasonCode.OTHER), False, ReasonContradictsOutcome),
    ],
)
def test_a_report_that_breaks_a_rule_is_refused_with_the_rule(report: TaskReport, asks: bool, error: type) -> None:
    with pytest.raises(error) as refused:
        check_report(report, asks_reason=asks)
    assert refused.value.detail.startswith("reason: ")
    if error is ReasonRequired:
        assert "app_too_hard" in refused.value.detail and "other" in refused.value.detail


@pytest.mark.parametrize(
    ("report", "asks"),
    [
        (TaskReport(TaskOutcome.REACHED, ReasonCode.APP_TOO_HARD), True),
        (TaskReport(TaskOutcome.NO_ANSWER, ReasonCode.UNREACHABLE), True),
        (TaskReport(), False),  # a task that does not ask: the reason is optional
        (TaskReport(TaskOutcome.REACHED, ReasonCode.NO_FUNDS), False),  # ... and recorded when given
    ],
)
def test_a_valid_report_passes(report: TaskReport, asks: bool) -> None:
    assert check_report(report, asks_reason=asks) == report


def test_closing_again_keeps_the_first_report_and_refuses_another() -> None:
    first = TaskReport(TaskOutcome.REACHED, ReasonCode.APP_TOO_HARD)
    check_repeat(first, first)
    check_repeat(first, TaskReport())  # a retry without a body
    with pytest.raises(ReportDiffers):
        check_repeat(first, TaskReport(TaskOutcome.REACHED, ReasonCode.MOVED_TO_COMPETITOR))
    with pytest.raises(ReportDiffers):
        check_repeat(first, TaskReport(TaskOutcome.DECLINED, ReasonCode.APP_TOO_HARD))


def test_the_shipped_call_asks_and_every_reason_has_a_branch() -> None:
    assert {name for name, s in _steps(DEFAULT) if s.asks_reason is not None} == {"day7_call"}
    branches = {reason.value: [s.template for s in steps] for reason, steps in prompt().branches.items()}
    assert branches == {
        "app_too_hard": ["reactivation.remote_teaching"],
        "unhappy_with_returns": ["reactivation.steady_portfolio"],
        "moved_to_competitor": ["reactivation.market_recovering"],
        "no_funds": [],
        "unreachable": [],
        "other": [],
    }
    assert prompt().replaces == ("day0_push", "day3_sms", "day14_recovery")


def _steps(playbooks: PlaybookSet) -> list[tuple[str, Any]]:
    return [(s.name, s) for steps in playbooks.playbooks.values() for s in steps]


def test_app_too_hard_plans_the_teaching_invitation_and_replaces_the_recovery_rung() -> None:
    ladder = stored()
    branch = plan_branch(
        ladder["day7_call"], prompt(), ReasonCode.APP_TOO_HARD, active=ladder.values(), holdout=False, now=NOW
    )
    assert [(p.name, p.template, p.due_at, p.decision_id) for p in branch.planned] == [
        ("day7_call.app_too_hard.teaching_invitation", "reactivation.remote_teaching", NOW, DECISION.decision_id)
    ]
    # A deterministic id, like every step's: the decision and the step's name.
    assert branch.planned[0].step_id == step_id(DECISION.decision_id, "day7_call.app_too_hard.teaching_invitation")
    assert sorted((r.step.name, r.reason) for r in branch.cancelled.records) == [
        ("day0_push", REPLACED_BY_REASON),
        ("day14_recovery", REPLACED_BY_REASON),
        ("day3_sms", REPLACED_BY_REASON),
    ]
    again = plan_branch(
        ladder["day7_call"], prompt(), ReasonCode.APP_TOO_HARD, active=ladder.values(), holdout=False, now=NOW
    )
    assert [p.step_id for p in again.planned] == [p.step_id for p in branch.planned]
    assert [r.notification_id for r in again.cancelled.records] == [r.notification_id for r in branch.cancelled.records]


@pytest.mark.parametrize(
    ("reason", "templates"),
    [
        (ReasonCode.UNHAPPY_WITH_RETURNS, ["reactivation.steady_portfolio"]),
        (ReasonCode.MOVED_TO_COMPETITOR, ["reactivation.market_recovering"]),
        (ReasonCode.NO_FUNDS, []),
        (ReasonCode.UNREACHABLE, []),
        (ReasonCode.OTHER, []),
    ],
)
def test_each_reason_chooses_its_branch_and_every_one_ends_the_ladder(reason: ReasonCode, templates: list[str]) -> None:
    ladder = stored()
    branch = plan_branch(ladder["day7_call"], prompt(), reason, active=ladder.values(), holdout=False, now=NOW)
    assert [p.template for p in branch.planned] == templates
    assert {r.step.name for r in branch.cancelled.records} == {"day0_push", "day3_sms", "day14_recovery"}


def test_steps_already_sent_or_being_sent_or_of_another_decision_are_not_replaced() -> None:
    sent = stored(StepStatus.DONE)
    sending = stored(StepStatus.SENDING)
    other = {
        n: StoredStep(**{**{f: getattr(s, f) for f in s.__slots__}, "decision_id": uuid.uuid4()})  # type: ignore[arg-type]
        for n, s in stored().items()
    }
    for active in (sent, sending, other):
        branch = plan_branch(
            stored()["day7_call"], prompt(), ReasonCode.OTHER, active=active.values(), holdout=False, now=NOW
        )
        assert branch.cancelled.records == []


def test_a_customer_in_the_holdout_gets_the_branch_recorded_suppressed_holdout() -> None:
    ladder = stored(StepStatus.DONE)
    branch = plan_branch(
        ladder["day7_call"], prompt(), ReasonCode.APP_TOO_HARD, active=ladder.values(), holdout=True, now=NOW
    )
    assert [(r.step.template, r.status, r.reason) for r in branch.cancelled.records] == [
        ("reactivation.remote_teaching", NotificationStatus.SUPPRESSED, HOLDOUT)
    ]
    assert branch.planned[0].message_class is MessageClass.MARKETING


def _with_call(**asks_reason: Any) -> str:
    document = yaml.safe_load(FILE.read_text())
    document["playbooks"]["reactivation"][2]["asks_reason"] = asks_reason
    return yaml.safe_dump(document)


BRANCHES = {code.value: [] for code in ReasonCode}


@pytest.mark.parametrize(
    ("asks_reason", "message"),
    [
        ({"branches": {**BRANCHES, "other": None}}, "other"),
        ({"branches": {k: v for k, v in BRANCHES.items() if k != "no_funds"}}, "missing: ['no_funds']"),
        ({"branches": {**BRANCHES, "bored": []}}, "bored"),
        ({"replaces": ["day99"], "branches": BRANCHES}, "replaces steps it does not have: ['day99']"),
        ({"replaces": ["day7_call"], "branches": BRANCHES}, "cannot replace itself"),
        (
            {
                "branches": {
                    **BRANCHES,
                    "other": [{"name": "again", "template": "x.y", "channels": ["advisor_task"], "asks_reason": {}}],
                }
            },
            "asks_reason",
        ),
    ],
)
def test_a_malformed_reason_prompt_stops_the_service_with_its_path(asks_reason: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_playbooks(_with_call(**asks_reason), source="p.yaml")
    assert "reactivation" in str(refused.value)  # where: the path, or the playbook named in the document's rule
    assert message in str(refused.value)


def test_only_an_advisor_task_may_ask() -> None:
    document = yaml.safe_load(FILE.read_text())
    document["playbooks"]["reactivation"][0]["asks_reason"] = {"branches": BRANCHES}
    with pytest.raises(ConfigurationError, match=r"playbooks\.reactivation\.0.*channels \[advisor_task\]"):
        parse_playbooks(yaml.safe_dump(document), source="p.yaml")


def test_the_step_of_a_plan_is_found_in_the_playbook_it_plays() -> None:
    assert DEFAULT.step_named(Flow.REACTIVATION, None, "day7_call") is not None
    assert DEFAULT.step_named(Flow.REACTIVATION, "reactivation_short", "day2_call") is not None
    assert DEFAULT.step_named(Flow.REACTIVATION, "reactivation_short", "day7_call") is None
    assert DEFAULT.step_named(Flow.COMMUNITY, "reactivation_short", "day2_call") is None  # another flow's variant
    assert DEFAULT.step_named(Flow.REACTIVATION, None, "day7_call.app_too_hard.teaching_invitation") is None
    assert NotificationChannel.ADVISOR_TASK in DEFAULT.playbooks[Flow.REACTIVATION][2].channels
