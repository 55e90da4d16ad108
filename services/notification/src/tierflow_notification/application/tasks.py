"""The advisor workbench's use cases: list a queue of tasks, close a task.

Shared by the HTTP task API and anything else that needs them; they raise application errors
(tierflow_common.exceptions), never HTTP ones, and take the time from an injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.exceptions import Invalid, NotFound
from tierflow_notification.adapters import tasks
from tierflow_notification.domain.tasks import AdvisorTask, TaskStatus

OUTREACH_QUEUE: Final = "outreach"  # the outreach team's queue: tasks with no advisor


class TaskNotFound(NotFound):
    """No task has this id."""


class QueueNotNamed(Invalid):
    """A listing names neither an advisor nor the outreach queue, or both."""


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


async def list_tasks(
    engine: AsyncEngine,
    *,
    advisor_id: str | None,
    queue: str | None,
    status: TaskStatus,
    limit: int,
    after: UUID | None,
) -> TaskListing:
    """The tasks of an advisor (or of the outreach queue) with a status, ordered by task id after `after`."""
    owner = queue_owner(advisor_id, queue)
    async with engine.connect() as conn:
        items = await tasks.list_tasks(conn, advisor_id=owner, status=status, limit=limit, after=after)
    return TaskListing(items=items, next_after=items[-1].task_id if len(items) == limit else None)


async def close_task(engine: AsyncEngine, *, task_id: UUID, closed_by: str, clock: Clock) -> AdvisorTask:
    """Mark a task done by `closed_by`, now; closing it again keeps the first closer and time."""
    async with engine.begin() as conn:
        task = await tasks.close_task(conn, task_id=task_id, by=closed_by, now=clock.now())
    if task is None:
        raise TaskNotFound("no such task")
    return task
