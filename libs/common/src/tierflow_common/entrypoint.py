"""`python -m tierflow_<service> [run|migrate]`: the same two commands for every service."""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tierflow_common.config import ServiceSettings
from tierflow_common.db.migrations import upgrade_to_head
from tierflow_common.logging import configure_logging
from tierflow_common.runtime import ServiceRuntime, serve

S = TypeVar("S", bound=ServiceSettings)


def tune_garbage_collector() -> None:
    """Fewer, cheaper collections for a service that allocates many short-lived objects per batch.

    Everything alive after start-up (modules, clients) is frozen out of collection, and the
    youngest generation is collected every 50,000 allocations instead of 700: the batch loop
    creates and drops hundreds of thousands of small objects a second, and CPython's defaults
    would otherwise spend a large share of the time walking long-lived objects.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def service_main(
    name: str,
    *,
    settings_factory: Callable[[], S],
    build: Callable[[S], ServiceRuntime],
    migrations_dir: Path,
    commands: dict[str, Callable[[S], int]] | None = None,
    argv: list[str] | None = None,
) -> int:
    """Parse the command line and run the service, its migrations or an extra command; return the exit code."""
    extra = commands or {}
    parser = argparse.ArgumentParser(prog=f"python -m tierflow_{name}", description=f"tierflow {name} service")
    parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate", *extra])
    args = parser.parse_args(argv)
    settings = settings_factory()
    configure_logging(name, settings.log_level)
    if args.command in extra:
        return extra[args.command](settings)
    if args.command == "migrate":
        upgrade_to_head(
            migrations_dir, database_url=settings.infra.database_url.get_secret_value(), schema=settings.db_schema
        )
        return 0

    async def run() -> int:
        # Clients are built inside the running event loop (aiokafka requires one).
        runtime = build(settings)
        tune_garbage_collector()
        return await serve(runtime, ops_host=settings.ops_host, ops_port=settings.ops_port)

    return asyncio.run(run())
