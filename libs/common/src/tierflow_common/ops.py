"""The operations endpoints every service serves: /healthz, /readyz and /metrics.

A worker serves them on its ops port; a worker with an HTTP API of its own (the notification
service's task API) serves that FastAPI application on the same port, with these routes added.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from fastapi import FastAPI

ReadinessCheck = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_S = 2.0


async def run_checks(checks: dict[str, ReadinessCheck]) -> dict[str, str]:
    """Run readiness checks concurrently; map each name to "ok" or the error class."""

    async def one(check: ReadinessCheck) -> str:
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
        except Exception as exc:
            return type(exc).__name__
        return "ok"

    names = list(checks)
    results = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


def metrics_registry() -> CollectorRegistry:
    """What /metrics reports: this process's metrics, or, when the process is one of several
    uvicorn workers (PROMETHEUS_MULTIPROC_DIR is set), every worker's metrics combined."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def ops_routes(*, service: str, checks: dict[str, ReadinessCheck], alive: Callable[[], bool]) -> list[Route]:
    """Routes for health, readiness and metrics; mounted by the ops server and by the routing API."""

    async def healthz(_: Request) -> Response:
        ok = alive()
        return JSONResponse({"status": "alive" if ok else "dead", "service": service}, status_code=200 if ok else 503)

    async def readyz(_: Request) -> Response:
        results = await run_checks(checks)
        ready = all(v == "ok" for v in results.values())
        body = {"status": "ready" if ready else "not_ready", "service": service, "checks": results}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(metrics_registry()), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket (port 0 picks a free one) to hand to uvicorn."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process it runs in."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OpsServer:
    """A small in-process HTTP server for the ops endpoints of a worker service.

    With `api`, it serves that application (its OpenAPI at /docs and /openapi.json) with the ops
    routes (and `routes`) put in front of its own, so they stay open and answer as they always did.
    """

    def __init__(
        self,
        *,
        service: str,
        checks: dict[str, ReadinessCheck],
        alive: Callable[[], bool],
        routes: Sequence[BaseRoute] = (),
        api: FastAPI | None = None,
    ) -> None:
        served = [*ops_routes(service=service, checks=checks, alive=alive), *routes]
        self._app: Starlette
        if api is None:
            self._app = Starlette(routes=served)
        else:
            api.router.routes[:0] = served
            self._app = api
        self._server: EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        sock = bind_socket(host, port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, log_level="warning", lifespan="off", access_log=False)
        self._server = EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
