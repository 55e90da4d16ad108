"""Serve the routing API with uvicorn (`python -m tierflow_routing api`)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from types import FrameType

import uvicorn
from fastapi import FastAPI

from tierflow_common.logging import configure_logging
from tierflow_routing.api.app import create_app
from tierflow_routing.settings import RoutingSettings


def worker_app() -> FastAPI:
    """The app of one uvicorn worker process (several workers): settings from the environment, JSON logs."""
    settings = RoutingSettings()
    configure_logging("routing", settings.log_level)
    return create_app(settings)


def serve_api(settings: RoutingSettings) -> int:
    """Run uvicorn on the configured loopback address until SIGTERM/SIGINT."""
    settings.check_secrets()

    def drained(signum: int, frame: FrameType | None) -> None:
        """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; by then we are done, so exit 0."""

    signal.signal(signal.SIGTERM, drained)
    signal.signal(signal.SIGINT, drained)
    # One worker serves the app object; several need the factory by name, so each worker process
    # builds its own app (its own pools, its own logging set-up) from the same environment.
    app: FastAPI | str = create_app(settings) if settings.api_workers == 1 else "tierflow_routing.api.server:worker_app"
    metrics_dir = None
    if settings.api_workers > 1:
        # Each worker writes its metrics to files here and /metrics (whichever worker answers) adds
        # them up: prometheus_client's multiprocess mode. The workers are spawned, so they read this
        # variable when they first import prometheus_client.
        metrics_dir = tempfile.mkdtemp(prefix="tierflow-api-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        _serve(app, settings)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _serve(app: FastAPI | str, settings: RoutingSettings) -> None:
    uvicorn.run(
        app,
        factory=settings.api_workers > 1,
        workers=settings.api_workers,
        loop="uvloop",
        http="httptools",
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.api_forwarded_allow_ips,
        timeout_graceful_shutdown=10,
    )
