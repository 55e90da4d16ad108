"""Runs a worker service: signals, ops server, the consumer loop and background tasks, clean exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from tierflow_common.kafka.consumer import ConsumerLoop
from tierflow_common.kafka.outcomes import Outcome, default_error_policy
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

    consumer_task: asyncio.Task[bool] | None = None
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
            if not await _while_unavailable(hook, stop, what="startup"):
                raise _StoppedDuringStartup()
        started = list(runtime.shutdown)
        await ops.start(ops_host, ops_port)
        log.info("service started", extra={"ops_port": ops.port})
        consumer_task = asyncio.create_task(
            _while_unavailable(runtime.loop.run, stop, what="consumer"), name=f"{runtime.name}-consumer"
        )
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
    except _StoppedDuringStartup:
        log.info("stopped before the start-up finished")
        started = list(runtime.shutdown)
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


class _StoppedDuringStartup(Exception):
    """SIGTERM arrived while a start-up step was waiting for a dependency."""


async def _while_unavailable(action: Callable[[], Awaitable[None]], stop: asyncio.Event, *, what: str) -> bool:
    """Run `action`; while it fails because a dependency is unavailable (the error policy's WAIT: a
    database down, read-only or restarting, a broker not answering), wait with capped backoff and run
    it again, as the consumer loop does for a batch. Any other failure is raised. False if stopped first.
    """
    attempt = 0
    while not stop.is_set():
        try:
            await action()
            return True
        except Exception as exc:
            if default_error_policy(exc) is not Outcome.WAIT:
                raise
            attempt += 1
            log.warning(
                f"{what} waits: dependency unavailable", extra={"error": type(exc).__name__, "attempt": attempt}
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(5.0, 0.2 * 2 ** min(attempt, 5)))
    return False
