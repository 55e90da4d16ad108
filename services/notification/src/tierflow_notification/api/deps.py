"""Request dependencies as Annotated aliases: the caller with its task scope, and the clients."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request

from tierflow_common.auth import Principal
from tierflow_common.web.security import requires
from tierflow_notification.bootstrap import TaskApiDependencies as TaskApiDependencies

SCOPE_TASK_READ: Final = "task:read"
SCOPE_TASK_WRITE: Final = "task:write"


# `async def`: a plain `def` dependency would run in the thread pool, a thread hop per request.
async def get_clients(request: Request) -> TaskApiDependencies:
    """The task API's clients, stored on the application when it was created."""
    clients: TaskApiDependencies = request.app.state.clients
    return clients


ClientsDep = Annotated[TaskApiDependencies, Depends(get_clients)]
TaskReaderDep = Annotated[Principal, Depends(requires(SCOPE_TASK_READ))]
TaskWriterDep = Annotated[Principal, Depends(requires(SCOPE_TASK_WRITE))]
