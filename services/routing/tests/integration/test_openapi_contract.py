"""The routing API keeps its OpenAPI promises: schemathesis with every check, zero failures.

The API runs over TCP on the real PostgreSQL and Redis with a few stored customers and advisors,
so generated requests reach found and not-found paths alike. Schemathesis sends a token with every
scope (and, for its auth checks, none or a broken one); every response must match the documented
status codes, content types, headers and schemas, and no request may cause a 5xx.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from tierflow_routing.settings import RoutingSettings

from .conftest import bearer, publish_customer

pytestmark = [pytest.mark.integration, pytest.mark.contract]

# Enough examples per operation to cover every parameter's edges; a fixed seed keeps CI reproducible.
MAX_EXAMPLES = "25"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = "20261121"


@pytest.fixture
def settings(settings: RoutingSettings) -> RoutingSettings:
    """The API of the shared fixture, with room for schemathesis's back-to-back unauthenticated probes.

    Requests without a valid token are limited per address (10 a second by default): schemathesis
    sends them from one address, one per operation and check, and a 429 for its probe of the
    scorecard failed ST401. The limiter itself is tested in libs/common test_rate_limiter.py and test_request_limits.py.
    """
    return settings.model_copy(update={"rate_limit_unauthenticated_rps": 10_000})


async def test_schemathesis_all_checks_find_nothing(
    ns, worker: RoutingSettings, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    for n in range(3):
        await api.put(
            f"/v1/advisors/ADV{n}",
            json={
                "branch": "futian",
                "region": "shenzhen",
                "capacity": 5,
                "licence_level": 5,
                "languages": ["zh"],
                "active": True,
            },
            headers=bearer("advisor:write"),
        )
    for customer_id, tier in (("C1", "A"), ("C2", "B"), ("C3", "C"), ("C4", "D")):
        await publish_customer(ns, customer_id, tier)

    schema_url = str(api.base_url.join("/openapi.json"))
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
        f"Authorization: {bearer()['Authorization']}",
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
