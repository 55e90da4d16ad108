"""The active routing policy: installed when missing, followed while running; a new version re-routes everyone."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.db.registry import Follower
from tierflow_routing.adapters import customers, policies
from tierflow_routing.adapters.policies import POLICIES, created_by
from tierflow_routing.domain.policy import RoutingPolicy, load_routing_policy

log = logging.getLogger(__name__)

INSTALLER = "tierflow"  # who installs the shipped default when nothing is active


def _version(policy: RoutingPolicy | None) -> str | None:
    return None if policy is None else policy.version


class ActivePolicy:
    """The routing policy every decision uses, refreshed from the registry every `refresh_s` seconds."""

    def __init__(self, *, engine: AsyncEngine, clock: Clock, default_file: Path, refresh_s: float = 10.0) -> None:
        self._engine = engine
        self._clock = clock
        self._default_file = default_file
        self._follower: Follower[RoutingPolicy | None] = Follower(
            engine=engine,
            load=POLICIES.active,
            key=_version,
            on_change=self._changed,
            refresh_s=refresh_s,
            name="routing policy",
        )

    async def ensure(self) -> None:
        """Install the shipped default when nothing is active yet (once, whoever starts first), then load."""
        now = self._clock.now()
        async with self._engine.begin() as conn:
            installed = await POLICIES.install_default(
                conn, lambda: load_routing_policy(self._default_file), now=now, details=created_by(INSTALLER)
            )
            if installed:
                version = await policies.active_version(conn)
                assert version is not None  # installed and activated in this transaction
                await policies.record_activation(
                    conn, version=version, action="installed", actor=INSTALLER, at=now, previous=None
                )
        await self.refresh()

    async def refresh(self) -> bool:
        """Reload the active version; True when it changed since the last load."""
        return await self._follower.refresh()

    async def run(self, stop: asyncio.Event) -> None:
        """Background task: follow the registry until stopped."""
        await self._follower.run(stop)

    @property
    def policy(self) -> RoutingPolicy | None:
        """The active policy, or None when none is active yet (or none was loaded)."""
        try:
            return self._follower.current
        except RuntimeError:
            return None

    def current(self) -> RoutingPolicy:
        """The active policy; `ensure()` (worker) or `refresh()` (API) first."""
        policy = self.policy
        assert policy is not None, "ensure() first"
        return policy

    async def _changed(self, policy: RoutingPolicy | None, initial: bool) -> None:
        """Every routed customer last evaluated under another version is due: the sweeper re-routes them."""
        if policy is None:
            return
        async with self._engine.begin() as conn:
            due = await customers.mark_outdated_due(conn, policy_version=policy.version, at=self._clock.now())
        if not initial or due:
            log.info("routing policy active", extra={"version": policy.version, "customers_due": due})
