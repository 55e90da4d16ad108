"""Runs a worker service: signals, ops server, the consumer loop and background tasks, clean exit."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from tierflow_common.kafka.consumer import ConsumerLoop
from tierflow_common.ops import OpsServer, ReadinessCheck

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

BackgroundTask = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class ServiceRuntime:
    """Everything bootstrap built for one service process."""

    name: str
    loop: ConsumerLoop
    checks: dict[str, ReadinessCheck]
    startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    background: list[BackgroundTask] = field(default_factory=list)
    routes: list[BaseRoute] = field(default_factory=list)  # served beside /healthz, /readyz and /metrics
    api: FastAPI | None = None  # an HTTP API served on the ops port, beside /healthz, /readyz and /metrics


async def serve(runtime: ServiceRuntime, *, ops_host: str, ops_port: int) -> int:
    """Run until SIGTERM/SIGINT (drain: finish batch, commit, exit 0) or a crash (exit 1)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop() -> None:
        if not stop.is_set():
            log.info("stop requested; draining")
        stop.set()
        runtime.loop.request_stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)

    consumer_task: asyncio.Task[None] | None = None
    ops = OpsServer(
        service=runtime.name,
        checks=runtime.checks,
        alive=lambda: consumer_task is not None and not consumer_task.done(),
        routes=runtime.routes,
        api=runtime.api,
    )
    started: list[Callable[[], Awaitable[None]]] = []
    exit_code = 0
    try:
        for hook in runtime.startup:
            await hook()
        started = list(runtime.shutdown)
        await ops.start(ops_host, ops_port)
        log.info("service started", extra={"ops_port": ops.port})
        consumer_task = asyncio.create_task(runtime.loop.run(), name=f"{runtime.name}-consumer")
        background = [asyncio.ensure_future(task(stop)) for task in runtime.background]
        stop_wait = asyncio.create_task(stop.wait())
        _done, _ = await asyncio.wait([consumer_task, stop_wait, *background], return_when=asyncio.FIRST_COMPLETED)
        request_stop()
        for task in [consumer_task, *background]:
            try:
                await task
            except Exception:
                log.exception("task crashed")
                exit_code = 1
        stop_wait.cancel()
    except Exception:
        log.exception("service failed")
        exit_code = 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await ops.stop()
        for hook in reversed(started):
            try:
                await hook()
            except Exception:
                log.exception("shutdown step failed")
    log.info("service stopped", extra={"exit_code": exit_code})
    return exit_code
