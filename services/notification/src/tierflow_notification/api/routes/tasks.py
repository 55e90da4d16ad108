"""/v1/tasks: the advisor workbench's tasks, listed per advisor (or the outreach queue) and closed."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query

from tierflow_common.web.errors import documented
from tierflow_notification.api.deps import ClientsDep, TaskReaderDep, TaskWriterDep
from tierflow_notification.api.views import TaskPage, TaskRead, TaskReportCreate
from tierflow_notification.application import tasks
from tierflow_notification.domain.reasons import TaskReport
from tierflow_notification.domain.tasks import TaskStatus

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

AdvisorQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:/-]+$",
        description="The advisor whose tasks to list (or give `queue=outreach`).",
        examples=["ADV017"],
    ),
]
QueueQuery = Annotated[
    str | None,
    Query(description="`outreach`: the outreach team's queue, tasks without an advisor.", examples=["outreach"]),
]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="At most this many tasks.")]
AfterQuery = Annotated[UUID | None, Query(description="The `next_after` of the previous page.")]


@router.get(
    "",
    response_model=TaskPage,
    responses=documented(
        s403="The scope is missing, or an advisor's token asks for another advisor's tasks or the outreach queue.",
        s422="A parameter is malformed, or neither (or both) of advisor_id and queue=outreach.",
    ),
    summary="Tasks of an advisor or of the outreach queue",
    description=(
        "Ordered by task id; pass `next_after` back as `after` for the next page. Scopes: `task:read` with an "
        "`advisor_id` claim (that advisor's tasks; `advisor_id` may be left out), or `task:read:all` (any advisor's "
        "tasks and the outreach queue)."
    ),
)
async def list_tasks(
    caller: TaskReaderDep,
    clients: ClientsDep,
    advisor_id: AdvisorQuery = None,
    queue: QueueQuery = None,
    status: TaskStatus = TaskStatus.OPEN,
    limit: LimitQuery = 100,
    after: AfterQuery = None,
) -> TaskPage:
    """One page of an advisor's (or the outreach queue's) tasks with a status."""
    listing = await tasks.list_tasks(
        clients.engine, caller=caller, advisor_id=advisor_id, queue=queue, status=status, limit=limit, after=after
    )
    return TaskPage.of(listing)


@router.post(
    "/{task_id}/done",
    response_model=TaskRead,
    responses=documented(
        400,
        404,
        409,
        s400="The body is not valid JSON.",
        s404="No task has this id among the tasks the token reaches.",
        s409=(
            "The task was cancelled (its customer's route changed), or it was closed before with another outcome "
            "or reason (the first report stands)."
        ),
        s422=(
            "The body is malformed (an unknown outcome or reason code), the task asks for a reason and none is "
            "given, or the outcome `no_answer` comes with a reason other than `unreachable`."
        ),
    ),
    summary="Close a task",
    description=(
        "Marks the task done by the caller, with an optional report: the outcome and the reason code. A task that "
        "asks for the reason the customer left (the reactivation call) needs one, and the reason plans the next "
        "steps; closing it again keeps the first closer and report and plans nothing twice. Scopes: `task:write` "
        "with an `advisor_id` claim (that advisor's tasks only; another advisor's task is answered 404), or "
        "`task:write:all` (any task, the outreach queue's included)."
    ),
)
async def close_task(
    task_id: UUID, caller: TaskWriterDep, clients: ClientsDep, body: Annotated[TaskReportCreate | None, Body()] = None
) -> TaskRead:
    """Close a task as the caller, with the caller's report."""
    report = TaskReport() if body is None else body.report()
    task = await tasks.close_task(
        clients.engine, task_id=task_id, caller=caller, clock=clients.clock, report=report, outreach=clients.outreach
    )
    return TaskRead.of(task)
