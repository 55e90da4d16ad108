"""Models of the task API (TaskRead, TaskPage, the done body TaskReportCreate, CoverageRead), with examples for
OpenAPI."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from tierflow_common.events.outputs import Priority, Tier
from tierflow_notification.application.calls import CallDay
from tierflow_notification.application.coverage import AdvisorCoverage
from tierflow_notification.application.tasks import TaskListing
from tierflow_notification.domain.coverage import Coverage
from tierflow_notification.domain.reasons import ReasonCode, TaskOutcome, TaskReport
from tierflow_notification.domain.tasks import AdvisorTask, TaskStatus

TASK_ID_EXAMPLE = "0b8e3c1e-4d0f-5a5e-9c57-3f1d2a6b7c80"


class View(BaseModel):
    """A frozen response model."""

    model_config = ConfigDict(frozen=True)


class TaskRead(View):
    """A task on an advisor's workbench, or in the outreach team's queue (no advisor)."""

    task_id: UUID = Field(
        examples=[TASK_ID_EXAMPLE], description="The notification id of the outreach step that opened it."
    )
    advisor_id: str | None = Field(examples=["ADV017"], description="None: the outreach team's queue.")
    customer_id: str = Field(examples=["C000123"])
    decision_id: UUID = Field(examples=["5d7c2f0a-8e1b-5f43-a6d2-9b0e4c3a1f27"])
    template: str = Field(examples=["advisor.new_customer"])
    priority: Priority
    due_at: datetime
    status: TaskStatus
    created_at: datetime
    closed_at: datetime | None = Field(default=None, description="When it was first closed.")
    closed_by: str | None = Field(
        default=None,
        examples=["advisor-ui"],
        description=(
            "Who closed it: the token's subject, `route_changed` when a new route cancelled it, or "
            "`satisfied_by_contact` when a logged contact by its advisor kept that period's promise."
        ),
    )
    evidence_event_id: UUID | None = Field(
        default=None,
        examples=["9a4f6c1d-2b3e-4f5a-8b6c-7d8e9f0a1b2c"],
        description="The contact.logged event that satisfied the task (a recurring contact or review task), if any.",
    )
    outcome: TaskOutcome | None = Field(default=None, description="What the closer reported (null: not closed).")
    reason: ReasonCode | None = Field(
        default=None,
        examples=["app_too_hard"],
        description="Why the customer left, as the closer reported it (required for a task that asks for one).",
    )
    tier: Tier | None = Field(
        default=None,
        examples=["A"],
        description="The customer's tier when the task was planned, for ordering a workbench by the tier's "
        "promise (null: a task created before tiers were kept).",
    )

    @classmethod
    def of(cls, task: AdvisorTask) -> TaskRead:
        """The view of a stored task."""
        return cls.model_validate(task, from_attributes=True)


class TaskReportCreate(BaseModel):
    """The body of closing a task (optional): the outcome and, for a task that asks, why the customer left."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: TaskOutcome = Field(default=TaskOutcome.DONE, description="What came of the task.")
    reason: ReasonCode | None = Field(
        default=None,
        examples=["app_too_hard"],
        description=(
            "Why the customer left. Required when the task asks for it (the reactivation call); it chooses the "
            "next steps. `no_answer` admits only `unreachable`."
        ),
    )

    def report(self) -> TaskReport:
        """The use case's view of the body."""
        return TaskReport(self.outcome, self.reason)


class TaskPage(View):
    """One page of tasks, ordered by task id."""

    items: list[TaskRead]
    next_after: UUID | None = Field(
        examples=[TASK_ID_EXAMPLE],
        description="Pass as `after` for the next page; null when this page was not full.",
    )

    @classmethod
    def of(cls, listing: TaskListing) -> TaskPage:
        """The view of one page of a queue."""
        return cls(items=[TaskRead.of(task) for task in listing.items], next_after=listing.next_after)


class CoverageFigures(View):
    """Promised, on-time and overdue tasks of one tier (or `all` tiers) in the window, and their ratio."""

    tier: str = Field(
        examples=["A"], description="A, B, C, D; `unknown` for tasks created before tiers were kept; `all`."
    )
    promised: int = Field(examples=[12], description="Tasks due in the window, not cancelled.")
    on_time: int = Field(examples=[11], description="Promised tasks done by their due time.")
    ratio: float | None = Field(examples=[0.9167], description="on_time / promised; null when nothing was promised.")
    overdue: int = Field(examples=[1], description="Promised tasks still open past their due time.")

    @classmethod
    def of(cls, figures: Coverage) -> CoverageFigures:
        """The view of one tier's figures."""
        return cls(
            tier=figures.tier,
            promised=figures.promised,
            on_time=figures.on_time,
            ratio=figures.ratio,
            overdue=figures.overdue,
        )


class CoverageRead(View):
    """An advisor's service coverage over the window: per tier with a promised task, and over all tiers."""

    advisor_id: str = Field(examples=["ADV017"])
    window_start: datetime = Field(description="Tasks due after this count (30 days before window_end).")
    window_end: datetime = Field(description="Now: tasks due later are not promised yet.")
    tiers: list[CoverageFigures] = Field(description="One entry per tier with a promised task; empty: none.")
    overall: CoverageFigures = Field(description="All tiers together (tier `all`): what the coverage alert watches.")

    @classmethod
    def of(cls, coverage: AdvisorCoverage) -> CoverageRead:
        """The view of an advisor's coverage."""
        return cls(
            advisor_id=coverage.advisor_id,
            window_start=coverage.window.start,
            window_end=coverage.window.end,
            tiers=[CoverageFigures.of(t) for t in coverage.tiers],
            overall=CoverageFigures.of(coverage.overall),
        )


class TierCallsRead(View):
    """One tier's calls on the day."""

    tier: str = Field(examples=["A"])
    share: float = Field(examples=[0.3], description="The tier's share of the day's calls.")
    limit: int | None = Field(examples=[120], description="Calls the share allows; null: no limit (per_day 0).")
    used: int = Field(examples=[87], description="Calls made: outbound-call steps handed to the workbench.")


class CallsRead(View):
    """A calling day's outbound calls per tier."""

    day: date = Field(description="The calling day, in governance.calls' timezone.")
    per_day: int = Field(examples=[400], description="The day's capacity; 0: no limit.")
    tiers: list[TierCallsRead] = Field(description="A, B, C, D.")

    @classmethod
    def of(cls, calls: CallDay) -> CallsRead:
        """The view of a day's calls."""
        return cls(
            day=calls.day,
            per_day=calls.per_day,
            tiers=[TierCallsRead(tier=t.tier.value, share=t.share, limit=t.limit, used=t.used) for t in calls.tiers],
        )
