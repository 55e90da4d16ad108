"""Request dependencies as Annotated aliases: the caller with its task scope, and the clients.

Scopes: `task:read` / `task:write` are an advisor's, and reach only the tasks of the token's
`advisor_id` claim; `task:read:all` / `task:write:all` are a supervisor's or the outreach team's, and
reach every advisor's tasks and the outreach queue (docs/notification.md says why).
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request

from tierflow_common.auth import Principal
from tierflow_common.web.security import requires
from tierflow_notification.application.tasks import TaskCaller
from tierflow_notification.bootstrap import TaskApiDependencies as TaskApiDependencies

SCOPE_TASK_READ: Final = "task:read"
SCOPE_TASK_WRITE: Final = "task:write"
SCOPE_TASK_READ_ALL: Final = "task:read:all"
SCOPE_TASK_WRITE_ALL: Final = "task:write:all"


# `async def`: a plain `def` dependency would run in the thread pool, a thread hop per request.
async def get_clients(request: Request) -> TaskApiDependencies:
    """The task API's clients, stored on the application when it was created."""
    clients: TaskApiDependencies = request.app.state.clients
    return clients


def caller(principal: Principal, *, all_scope: str) -> TaskCaller:
    """The use cases' view of a verified caller: its own advisor id, and whether it reaches every task."""
    return TaskCaller(principal.subject, principal.advisor_id, reaches_all=all_scope in principal.scopes)


async def task_reader(
    principal: Annotated[Principal, Depends(requires(SCOPE_TASK_READ, SCOPE_TASK_READ_ALL))],
) -> TaskCaller:
    """A caller allowed to list tasks (which ones: TaskCaller)."""
    return caller(principal, all_scope=SCOPE_TASK_READ_ALL)


async def task_writer(
    principal: Annotated[Principal, Depends(requires(SCOPE_TASK_WRITE, SCOPE_TASK_WRITE_ALL))],
) -> TaskCaller:
    """A caller allowed to close tasks (which ones: TaskCaller)."""
    return caller(principal, all_scope=SCOPE_TASK_WRITE_ALL)


ClientsDep = Annotated[TaskApiDependencies, Depends(get_clients)]
TaskReaderDep = Annotated[TaskCaller, Depends(task_reader)]
TaskWriterDep = Annotated[TaskCaller, Depends(task_writer)]
