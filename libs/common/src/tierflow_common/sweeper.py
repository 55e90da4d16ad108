"""The time sweeper: re-evaluates customers whose next_review_at has passed, on the service's clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from tierflow_common import metrics
from tierflow_common.kafka.outcomes import is_transient

log = logging.getLogger(__name__)

SweepOnce = Callable[[], Awaitable[int]]
"""Review one slice of due customers; return how many were reviewed."""


async def run_sweeper(stop: asyncio.Event, *, service: str, sweep_once: SweepOnce, interval_s: float) -> None:
    """Call `sweep_once` until nothing is due, then sleep `interval_s`; stop promptly on request."""
    while not stop.is_set():
        try:
            while not stop.is_set():
                reviewed = await sweep_once()
                metrics.SWEEP_REVIEWED.labels(service).inc(reviewed)
                if reviewed == 0:
                    break
        except Exception as exc:
            if not is_transient(exc):
                log.exception("sweep failed")
            else:
                log.warning("sweep postponed; dependency unavailable", extra={"error": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
