"""The advisor workbench's use cases: list a queue of tasks, close a task, each for a caller who may reach it.

Shared by the HTTP task API and anything else that needs them; they raise application errors
(tierflow_common.exceptions), never HTTP ones, and take the time from an injected clock.

Who reaches which tasks (object-level authorization, decided here because closing needs the task):
an advisor's token reaches only the tasks of its `advisor_id` claim; a supervisor's or the outreach
team's token (the `...:all` scopes) reaches every advisor's tasks and the outreach queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.db.outbox import OutboxTransaction
from tierflow_common.exceptions import Conflict, Forbidden, Invalid, NotFound
from tierflow_notification.adapters import tasks
from tierflow_notification.application.reasons import Outreach, asking_step, lock_customer, plan_reason
from tierflow_notification.domain.reasons import TaskReport, check_repeat, check_report
from tierflow_notification.domain.tasks import AdvisorTask, TaskStatus

OUTREACH_QUEUE: Final = "outreach"  # the outreach team's queue: tasks with no advisor


class TaskNotFound(NotFound):
    """No task has this id (among the tasks the caller reaches)."""


class TaskCancelled(Conflict):
    """The task was cancelled (a route change); there is nothing left to close."""


class QueueNotNamed(Invalid):
    """A listing names neither an advisor nor the outreach queue, or both."""


class NotYourTasks(Forbidden):
    """An advisor's token asked for another advisor's tasks, or the outreach queue."""


@dataclass(frozen=True, slots=True)
class TaskCaller:
    """Who is asking: the subject (recorded as the closer), their own advisor id, and whether they reach all tasks."""

    subject: str
    advisor_id: str | None = None
    reaches_all: bool = False

    def reaches(self, advisor_id: str | None) -> bool:
        """Whether the caller may see and close the tasks of `advisor_id` (None: the outreach queue)."""
        return self.reaches_all or (self.advisor_id is not None and advisor_id == self.advisor_id)


@dataclass(frozen=True, slots=True)
class TaskListing:
    """One page of a queue; `next_after` is the task id to pass as `after` for the next page (None: no more)."""

    items: list[AdvisorTask]
    next_after: UUID | None


def queue_owner(advisor_id: str | None, queue: str | None) -> str | None:
    """The advisor whose tasks are asked for, None for the outreach queue; QueueNotNamed unless exactly one is named."""
    if (advisor_id is None) == (queue != OUTREACH_QUEUE):
        raise QueueNotNamed("give advisor_id, or queue=outreach for tasks without an advisor")
    return advisor_id


def queue_for(caller: TaskCaller, advisor_id: str | None, queue: str | None) -> str | None:
    """The queue a caller asks for (an advisor naming none asks for their own); NotYourTasks beyond their reach."""
    if not caller.reaches_all and caller.advisor_id is None:
        raise NotYourTasks("this token reaches only the tasks of its advisor_id claim, and it has none")
    if advisor_id is None and queue is None and not caller.reaches_all:
        advisor_id = caller.advisor_id
    owner = queue_owner(advisor_id, queue)
    if not caller.reaches(owner):
        raise NotYourTasks("this token reaches only the tasks of its own advisor_id")
    return owner


async def list_tasks(
    engine: AsyncEngine,
    *,
    caller: TaskCaller,
    advisor_id: str | None,
    queue: str | None,
    status: TaskStatus,
    limit: int,
    after: UUID | None,
) -> TaskListing:
    """The tasks of an advisor (or of the outreach queue) with a status, ordered by task id after `after`."""
    owner = queue_for(caller, advisor_id, queue)
    async with engine.connect() as conn:
        items = await tasks.list_tasks(conn, advisor_id=owner, status=status, limit=limit, after=after)
    return TaskListing(items=items, next_after=items[-1].task_id if len(items) == limit else None)


async def close_task(
    engine: AsyncEngine,
    *,
    task_id: UUID,
    caller: TaskCaller,
    clock: Clock,
    report: TaskReport = TaskReport(),
    outreach: Outreach | None = None,
) -> AdvisorTask:
    """Mark a task done by the caller, now, with the caller's report; closing it again keeps the first closer,
    time and report.

    A task beyond the caller's reach is answered as unknown (TaskNotFound), so an advisor learns
    nothing of another's tasks; a cancelled task cannot be closed (TaskCancelled). A task whose step
    asks for a reason needs one (ReasonRequired), and the reason plans its branch in the same
    transaction (application/reasons.py); without `outreach` no task asks. Closing again with another
    reason is ReportDiffers: the first reason already chose the next steps, and nothing is planned twice.
    """
    if outreach is None:
        async with engine.begin() as conn:
            return await _close(conn, None, task_id=task_id, caller=caller, now=clock.now(), report=report)
    async with outreach.outbox.transaction() as tx:
        return await _close(
            tx.connection, (tx, outreach), task_id=task_id, caller=caller, now=clock.now(), report=report
        )


async def _close(
    conn: AsyncConnection,
    planning: tuple[OutboxTransaction, Outreach] | None,
    *,
    task_id: UUID,
    caller: TaskCaller,
    now: datetime,
    report: TaskReport,
) -> AdvisorTask:
    task = await tasks.get_task(conn, task_id=task_id)
    if task is None or not caller.reaches(task.advisor_id):
        raise TaskNotFound("no such task")
    if planning is not None:
        await lock_customer(conn, task.customer_id)
    task = await tasks.get_task(conn, task_id=task_id, for_update=True)
    assert task is not None  # tasks are never deleted
    if task.status is TaskStatus.CANCELLED:
        raise TaskCancelled(f"the task was cancelled ({task.closed_by}); it cannot be closed")
    if task.status is TaskStatus.DONE:
        check_repeat(task.report or TaskReport(), report)
        return task
    asking = None if planning is None else await asking_step(conn, task, planning[1].playbooks)
    check_report(report, asks_reason=asking is not None)
    closed = await tasks.close_task(conn, task_id=task_id, by=caller.subject, now=now, report=report)
    assert closed is not None  # locked above
    if planning is not None and asking is not None and report.reason is not None:
        await plan_reason(planning[0], asking, report.reason, planning[1])
    return closed
