"""An API request that meets a dependency outage answers 503 with Retry-After; any other error stays a 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from tierflow_common.web.errors import install_error_handlers


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    return app


def shutting_down() -> sa_exc.DBAPIError:
    cause = asyncpg.CannotConnectNowError("the database system is shutting down")
    return sa_exc.DBAPIError("SELECT 1", None, cause)


@pytest.mark.parametrize(
    "error",
    [shutting_down(), ConnectionRefusedError(111, "refused"), TimeoutError("pool timeout")],
    ids=["postgresql-shutting-down", "connection-refused", "timeout"],
)
async def test_a_dependency_outage_is_a_503_with_retry_after(error: Exception) -> None:
    transport = httpx.ASGITransport(app=app_raising(error))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"] == "unavailable"


async def test_an_error_of_our_own_stays_a_500() -> None:
    not_a_dependency = sa_exc.DBAPIError("SELECT 1", None, ValueError("a bug"))
    transport = httpx.ASGITransport(app=app_raising(not_a_dependency), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
