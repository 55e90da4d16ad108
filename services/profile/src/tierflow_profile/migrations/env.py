"""Alembic environment of the profile service (schema from TIERFLOW_PROFILE_DB_SCHEMA)."""

from alembic import context

from tierflow_common.db.migrations import run_migrations_online
from tierflow_profile.adapters.tables import metadata

run_migrations_online(context, metadata)
