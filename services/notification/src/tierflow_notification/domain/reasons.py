"""Why a dormant customer left, as the advisor's call records it, and the rules of a task's closing report. Pure.

The reactivation playbook's day-7 call task asks the advisor for the reason (its step declares
`asks_reason`, domain/playbooks.py); the reason then chooses the next steps (domain/branching.py).
A task that asks cannot be closed without a reason; a task that does not ask may be given one, which
is recorded and plans nothing. An outcome of `no_answer` admits only the reason `unreachable`: nobody
said anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tierflow_common.exceptions import Conflict, Invalid


class ReasonCode(StrEnum):
    """Why the customer stopped trading, as the advisor heard it on the call."""

    APP_TOO_HARD = "app_too_hard"
    UNHAPPY_WITH_RETURNS = "unhappy_with_returns"
    MOVED_TO_COMPETITOR = "moved_to_competitor"
    NO_FUNDS = "no_funds"
    UNREACHABLE = "unreachable"
    OTHER = "other"


class TaskOutcome(StrEnum):
    """What came of the task: the contact outcomes of a call (tierflow.contact.v1), or simply done."""

    DONE = "done"
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"


class ReasonRequired(Invalid):
    """The task asks for the reason the customer left, and the report gives none."""


class ReasonContradictsOutcome(Invalid):
    """The outcome says nobody answered, yet the reason says what the customer said."""


class ReportDiffers(Conflict):
    """The task was already closed with another outcome or reason; the first report stands."""


@dataclass(frozen=True, slots=True)
class TaskReport:
    """What the advisor reports when closing a task: the outcome, and the reason when there is one."""

    outcome: TaskOutcome = TaskOutcome.DONE
    reason: ReasonCode | None = None


def check_report(report: TaskReport, *, asks_reason: bool) -> TaskReport:
    """The report if it is valid for a task that asks (or not) for a reason; ReasonRequired or
    ReasonContradictsOutcome otherwise."""
    if asks_reason and report.reason is None:
        allowed = ", ".join(code.value for code in ReasonCode)
        raise ReasonRequired(f"reason: this task asks why the customer left; give one of {allowed}")
    if report.outcome is TaskOutcome.NO_ANSWER and report.reason not in (None, ReasonCode.UNREACHABLE):
        raise ReasonContradictsOutcome(
            f"reason: the outcome no_answer admits only the reason unreachable, not {report.reason}"
        )
    return report


def check_repeat(first: TaskReport, again: TaskReport) -> None:
    """A task closed again: the same report (or one without a reason or outcome) is answered as the first;
    another reason or outcome is ReportDiffers, since the first already chose the next steps."""
    if again.reason is not None and again.reason != first.reason:
        raise ReportDiffers(f"the task was closed with the reason {first.reason}; the first report stands")
    if again.outcome is not TaskOutcome.DONE and again.outcome != first.outcome:
        raise ReportDiffers(f"the task was closed with the outcome {first.outcome}; the first report stands")
