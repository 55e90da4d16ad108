"""Database helpers: engines bound to a service's schema, the inbox, the outbox, migrations."""

from tierflow_common.db.engine import async_database_url, create_engine, ping

__all__ = ["async_database_url", "create_engine", "ping"]
