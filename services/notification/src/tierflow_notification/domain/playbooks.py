"""Playbooks: which outreach steps each flow triggers, and the governance rules over all of them.

A playbook file is YAML validated by these models (see playbooks/default.yaml and
docs/notification.md); an invalid file is rejected as a whole with the path of the first error.
Besides each flow's playbook it may name **variants**: other playbooks of a flow that a routing
experiment arm asks for by name (`experiment.playbook` on the decision, docs/experiments.md).
`PlaybookSet.choose` plays the variant when the decision's flow has it, else the flow's playbook
and says why (`PlaybookFallback`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tierflow_common.events.outputs import PLAYBOOK_NAME, Flow, MessageClass, NotificationChannel, Priority
from tierflow_common.exceptions import ConfigurationError
from tierflow_common.yaml_documents import parse_document
from tierflow_notification.domain.calls import CallCapacity
from tierflow_notification.domain.catalogue import Catalogue
from tierflow_notification.domain.durations import Duration, parse_duration
from tierflow_notification.domain.reasons import ReasonCode

# The consent purpose a marketing message on each channel needs (tierflow.customer.v1 consents).
CONSENT_FOR_CHANNEL: dict[NotificationChannel, str] = {
    NotificationChannel.PUSH: "marketing_push",
    NotificationChannel.SMS: "marketing_sms",
    NotificationChannel.EMAIL: "marketing_email",
    NotificationChannel.ADVISOR_TASK: "marketing_phone",  # a marketing task is a call to the customer
    NotificationChannel.WEBHOOK: "marketing_push",
    NotificationChannel.LOG: "marketing_push",
}
# Channels that reach the customer's device at once, so quiet hours apply to them.
# A contact is matched against the occurrences of the last year and a bit (adapters/steps.py): a longer period
# could not be satisfied.
MAX_SATISFIABLE_PERIOD_DAYS = 366
INTERRUPTING = frozenset({NotificationChannel.PUSH, NotificationChannel.SMS, NotificationChannel.EMAIL})


class Model(BaseModel):
    """A frozen playbook model that refuses unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(Model):
    """One outreach step of a flow: a message or an advisor task, `after_days` after the decision."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    template: str = Field(pattern=r"^[a-z][a-z0-9_.]*$", max_length=64)
    channels: tuple[NotificationChannel, ...] = Field(
        min_length=1, description="In order of preference; a marketing step uses the first one with consent."
    )
    message_class: MessageClass = MessageClass.MARKETING
    after_days: float = Field(default=0, ge=0, le=365)
    task_due_days: float = Field(default=2, ge=0, le=60, description="Advisor tasks: due this long after creation.")
    priorities: tuple[Priority, ...] = Field(
        default=tuple(Priority), description="Only for decisions with one of these priorities."
    )
    stop_when_active: bool = Field(default=False, description="Cancelled when the customer trades or logs in.")
    # Recurrence (docs/notification.md, "Recurring steps"; domain/recurrence.py), kept in one block.
    every: str | None = Field(
        default=None, description="ISO 8601 duration (P1W, P1M, P3M, P1Y): the step recurs until the route changes."
    )
    window: str | None = Field(
        default=None, description="Recurring advisor tasks: due this long after each occurrence opens (default: every)."
    )
    satisfied_by_contact: bool = Field(
        default=False, description="A contact.logged by the step's advisor in the period closes its task."
    )

    @model_validator(mode="after")
    def _recurrence(self) -> Step:
        if self.every is None:
            if self.window is not None or self.satisfied_by_contact:
                raise ValueError("window and satisfied_by_contact belong to a recurring step (give `every`)")
            return self
        every = parse_duration(self.every)
        if every.nominal_days < 1:
            raise ValueError(f"every: a step recurs at most daily (P1D or longer), not {self.every}")
        is_task = NotificationChannel.ADVISOR_TASK in self.channels
        if self.window is not None:
            if not is_task:
                raise ValueError("window: only an advisor task has a due time")
            if parse_duration(self.window).nominal_days > every.nominal_days:
                raise ValueError(f"window {self.window} is longer than the period {self.every}")
        if "task_due_days" in self.model_fields_set:
            raise ValueError("a recurring step's task is due by its window (default: the period), not task_due_days")
        if self.satisfied_by_contact and self.channels != (NotificationChannel.ADVISOR_TASK,):
            raise ValueError("satisfied_by_contact: only a step whose one channel is advisor_task")
        if self.satisfied_by_contact and every.nominal_days > MAX_SATISFIABLE_PERIOD_DAYS:
            raise ValueError(f"satisfied_by_contact: a period of at most a year, not {self.every}")
        return self

    # Reasons (issue 12): an advisor task that asks why the customer left, and what each reason plans next.
    asks_reason: ReasonPrompt | None = Field(
        default=None, description="The task cannot be closed without a reason code; the reason branches the plan."
    )

    outbound_call: bool = Field(
        default=False, description="A call to the customer: counts against its tier's calls a day (governance.calls)."
    )

    @model_validator(mode="after")
    def _asking_step_is_a_task(self) -> Step:
        if self.outbound_call and self.channels != (NotificationChannel.ADVISOR_TASK,):
            raise ValueError("an outbound call is an advisor task: channels [advisor_task]")
        if self.asks_reason is not None:
            if self.channels != (NotificationChannel.ADVISOR_TASK,):
                raise ValueError("a step that asks for a reason is an advisor task: channels [advisor_task]")
            if self.name in self.asks_reason.replaces:
                raise ValueError("a step that asks for a reason cannot replace itself")
        return self

    @property
    def after(self) -> timedelta:
        """How long after the decision the step is due."""
        return timedelta(days=self.after_days)

    @property
    def period(self) -> Duration | None:
        """The recurrence period, None for a one-off step."""
        return None if self.every is None else parse_duration(self.every)

    @property
    def task_window(self) -> Duration | None:
        """How long each occurrence's task has (the window, else the period); None for a one-off step."""
        return self.period if self.window is None else parse_duration(self.window)


class ReasonPrompt(Model):
    """What closing an asking task with a reason does: cancel the steps it `replaces`, plan the reason's branch."""

    replaces: tuple[str, ...] = Field(
        default=(), description="Steps of the same playbook cancelled (if still pending) once a reason is recorded."
    )
    branches: dict[ReasonCode, tuple[Step, ...]] = Field(
        description="Every reason code, with the steps it plans from the moment the task is closed (empty: stop)."
    )

    @model_validator(mode="after")
    def _every_reason_once(self) -> ReasonPrompt:
        missing = [code.value for code in ReasonCode if code not in self.branches]
        if missing:
            raise ValueError(f"every reason code needs a branch (an empty list stops); missing: {missing}")
        for reason, steps in self.branches.items():
            _unique_step_names(f"branch {reason.value}", steps)
            if any(step.asks_reason is not None for step in steps):
                raise ValueError(f"branch {reason.value}: a branch step may not ask for a reason again")
        return self


class FrequencyCap(Model):
    """At most `max_messages` marketing messages per customer in `per_days`, and what happens over it."""

    max_messages: int = Field(default=3, ge=1)
    per_days: float = Field(default=7, gt=0)
    over_cap: Literal["defer", "drop"] = Field(
        default="defer", description="defer: wait for a free slot; drop: suppress at once."
    )
    give_up_after_days: float = Field(
        default=14, gt=0, description="A deferred message older than this (from its due time) is dropped."
    )


class QuietHours(Model):
    """The customer's local hours when marketing on interrupting channels waits."""

    start: time = time(22, 0)
    end: time = time(8, 0)


class Governance(Model):
    """The rules over every flow: the frequency cap, quiet hours and the outbound call capacity."""

    frequency_cap: FrequencyCap = FrequencyCap()
    quiet_hours: QuietHours = QuietHours()
    calls: CallCapacity = CallCapacity()


class Variant(Model):
    """A named alternative to a flow's playbook, played for decisions whose experiment arm names it."""

    name: str = Field(pattern=PLAYBOOK_NAME, description="What a routing arm's `playbook` names.")
    flow: Flow = Field(description="The flow whose decisions may play it.")
    description: str = ""
    steps: tuple[Step, ...] = Field(description="As a flow's playbook (an empty list: no outreach in this arm).")


class PlaybookFallback(StrEnum):
    """Why a decision that names a playbook variant gets its flow's playbook instead."""

    UNKNOWN = "unknown_playbook"  # the file has no variant of that name
    OTHER_FLOW = "playbook_of_other_flow"  # the variant belongs to another flow than the decision's


@dataclass(frozen=True, slots=True)
class PlaybookChoice:
    """The playbook a decision plays: a variant's name (None: the flow's own) and its steps for the priority."""

    variant: str | None
    steps: tuple[Step, ...]
    fallback: PlaybookFallback | None = None  # set when the decision named a variant that is not played


def _unique_step_names(where: str, steps: tuple[Step, ...]) -> None:
    names = [s.name for s in steps]
    if len(names) != len(set(names)):
        raise ValueError(f"{where}: step names must be unique")


def _replaced_steps_exist(where: str, steps: tuple[Step, ...]) -> None:
    names = {s.name for s in steps}
    for step in steps:
        unknown = sorted(set(step.asks_reason.replaces) - names) if step.asks_reason else []
        if unknown:
            raise ValueError(f"playbook {where}: step {step.name} replaces steps it does not have: {unknown}")


class PlaybookSet(Model):
    """A versioned playbook file: the steps of every flow, named variants, and the governance rules."""

    version: str = Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=64)
    description: str = ""
    governance: Governance = Governance()
    playbooks: dict[Flow, tuple[Step, ...]]
    # A list rather than a mapping by name: YAML keeps the last of two equal keys without a word, and a
    # duplicated name must stop the service instead.
    variants: tuple[Variant, ...] = ()
    catalogue: Catalogue | None = Field(default=None, description="Content offered in sequence (domain/catalogue.py).")

    @model_validator(mode="after")
    def _every_flow_and_unique_steps(self) -> PlaybookSet:
        missing = [flow.value for flow in Flow if flow not in self.playbooks]
        if missing:
            raise ValueError(f"every flow needs a playbook (an empty list is allowed); missing: {missing}")
        for flow, steps in self.playbooks.items():
            _unique_step_names(f"playbook {flow.value}", steps)
        names = [v.name for v in self.variants]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"variant names must be unique: {duplicates}")
        flows = sorted({n for n in names if n in {f.value for f in Flow}})
        if flows:
            raise ValueError(f"a variant may not be named after a flow (it would read as the flow's playbook): {flows}")
        for variant in self.variants:
            _unique_step_names(f"variant {variant.name}", variant.steps)
        for flow, steps in self.playbooks.items():
            _replaced_steps_exist(flow.value, steps)
        for variant in self.variants:
            _replaced_steps_exist(variant.name, variant.steps)
        return self

    def step_named(self, flow: Flow, variant: str | None, name: str) -> Step | None:
        """The step `name` of the playbook a plan plays (`variant`, None: the flow's own), if the file has it."""
        if variant is None:
            steps = self.playbooks[flow]
        else:
            steps = next((v.steps for v in self.variants if v.name == variant and v.flow is flow), ())
        return next((s for s in steps if s.name == name), None)

    def steps_for(self, flow: Flow, priority: Priority) -> tuple[Step, ...]:
        """The steps of a flow that apply to a decision with this priority."""
        return tuple(s for s in self.playbooks[flow] if priority in s.priorities)

    def choose(self, flow: Flow, priority: Priority, playbook: str | None) -> PlaybookChoice:
        """The variant `playbook` when `flow` has it, else the flow's playbook (with why, when one was named)."""
        if playbook is None:
            return PlaybookChoice(None, self.steps_for(flow, priority))
        variant = next((v for v in self.variants if v.name == playbook), None)
        if variant is None or variant.flow is not flow:
            why = PlaybookFallback.UNKNOWN if variant is None else PlaybookFallback.OTHER_FLOW
            return PlaybookChoice(None, self.steps_for(flow, priority), why)
        return PlaybookChoice(variant.name, tuple(s for s in variant.steps if priority in s.priorities))


Step.model_rebuild()  # Step and ReasonPrompt refer to each other


def parse_playbooks(text: str, *, source: str = "playbooks") -> PlaybookSet:
    """Validate a playbook document; ConfigurationError names the first problem."""
    return parse_document(text, PlaybookSet, source=source, what="a playbook file", error=ConfigurationError)


def load_playbooks(path: Path) -> PlaybookSet:
    """Read and validate a playbook file; ConfigurationError names the first problem."""
    return parse_playbooks(path.read_text(), source=str(path))
