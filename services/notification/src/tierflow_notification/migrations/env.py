"""Alembic environment of the notification service (schema from TIERFLOW_NOTIFICATION_DB_SCHEMA)."""

from alembic import context

from tierflow_common.db.migrations import run_migrations_online
from tierflow_notification.adapters.tables import metadata

run_migrations_online(context, metadata)
