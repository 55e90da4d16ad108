"""Alembic environment of the scoring service (schema from TIERFLOW_SCORING_DB_SCHEMA)."""

from alembic import context

from tierflow_common.db.migrations import run_migrations_online
from tierflow_scoring.adapters.tables import metadata

run_migrations_online(context, metadata)
