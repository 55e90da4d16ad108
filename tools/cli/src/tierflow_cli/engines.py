"""An engine on one service's schema for the CLI's commands, disposed when the command is done."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from tierflow_common.config import ServiceSettings


@asynccontextmanager
async def service_engine(settings: ServiceSettings) -> AsyncIterator[AsyncEngine]:
    """An engine from the service's settings (its env prefix, DATABASE_URL, `db_schema`)."""
    from tierflow_common.wiring import database_engine

    engine = database_engine(settings, application_name="tierflow-cli")
    try:
        yield engine
    finally:
        await engine.dispose()


def scoring_engine(schema: str | None) -> AbstractAsyncContextManager[AsyncEngine]:
    """An engine on the scoring service's schema, from its settings (TIERFLOW_SCORING_*, DATABASE_URL)."""
    from tierflow_scoring.settings import ScoringSettings

    return service_engine(ScoringSettings() if schema is None else ScoringSettings(db_schema=schema))
