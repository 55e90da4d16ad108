"""The task API keeps its OpenAPI promises: schemathesis with every check, zero failures.

The API runs over TCP as the worker serves it (beside the ops endpoints) on the real PostgreSQL
with a few stored tasks, so generated requests reach found and not-found tasks alike. Schemathesis
sends a token with both task scopes that reach every queue (`task:read:all`, `task:write:all`, since
issue 11 an advisor's `task:read` reaches only its own tasks) and, for its auth checks, none or a
broken one; every
response must match the documented status codes, content types, headers and schemas, and no
request may cause a 5xx.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from .conftest import TaskApi, bearer

pytestmark = [pytest.mark.integration, pytest.mark.contract]

# Enough examples per operation to cover every parameter's edges; a fixed seed keeps CI reproducible.
MAX_EXAMPLES = "25"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = "20261121"


async def test_schemathesis_all_checks_find_nothing(task_api: TaskApi, tmp_path: Path) -> None:
    await task_api.open_tasks("ADV1", 3)
    await task_api.open_tasks(None, 2)

    schema_url = str(task_api.client.base_url.join("/openapi.json"))
    st = Path(os.environ.get("VIRTUAL_ENV", Path(__file__).parents[4] / ".venv")) / "bin" / "st"
    process = await asyncio.create_subprocess_exec(
        str(st),
        "--config-file",
        str(CONFIG),
        "run",
        schema_url,
        "--checks",
        "all",
        "--header",
        f"Authorization: {bearer('task:read:all', 'task:write:all')['Authorization']}",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, text[-12000:]
    assert "No issues found" in text or "passed" in text, text[-4000:]
