"""The active routing policy, loaded from the registry and refreshed while running."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.db.locks import hold_until_commit
from tierflow_routing.adapters import customers, policies
from tierflow_routing.domain.policy import RoutingPolicy, load_routing_policy

log = logging.getLogger(__name__)


class ActivePolicy:
    """The routing policy every decision uses; a newly activated version re-routes everyone."""

    def __init__(self, *, engine: AsyncEngine, clock: Clock, default_file: Path, refresh_s: float = 10.0) -> None:
        self._engine = engine
        self._clock = clock
        self._default_file = default_file
        self._refresh_s = refresh_s
        self.policy: RoutingPolicy | None = None

    async def ensure(self) -> None:
        """Install the shipped default when nothing is active yet, then load the active version."""
        async with self._engine.begin() as conn:
            await hold_until_commit(conn, policies.LOCK)  # replicas starting at once install it once
            if await policies.active_policy(conn) is None:
                default = load_routing_policy(self._default_file)
                await policies.store_policy(conn, default, by="tierflow", now=self._clock.now(), activate=True)
        await self.refresh(initial=True)

    async def refresh(self, *, initial: bool = False) -> bool:
        async with self._engine.connect() as conn:
            policy = await policies.active_policy(conn)
        changed = policy is not None and (self.policy is None or policy.version != self.policy.version)
        self.policy = policy
        if changed and policy is not None:
            async with self._engine.begin() as conn:
                due = await customers.mark_outdated_due(conn, policy_version=policy.version, at=self._clock.now())
            if not initial or due:
                log.info("routing policy active", extra={"version": policy.version, "customers_due": due})
        return changed

    def current(self) -> RoutingPolicy:
        assert self.policy is not None, "ensure() first"
        return self.policy

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._refresh_s)
            except TimeoutError:
                try:
                    await self.refresh()
                except Exception as exc:
                    log.warning("routing policy refresh failed", extra={"error": type(exc).__name__})
