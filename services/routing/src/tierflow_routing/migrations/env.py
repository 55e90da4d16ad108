"""Alembic environment of the routing service (schema from TIERFLOW_ROUTING_DB_SCHEMA)."""

from alembic import context

from tierflow_common.db.migrations import run_migrations_online
from tierflow_routing.adapters.tables import metadata

run_migrations_online(context, metadata)
