"""The active policy and churn model, loaded from the registry and refreshed while running."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.db.locks import hold_until_commit
from tierflow_scoring.adapters import registry, repository
from tierflow_scoring.domain.churn import REFERENCE_MODEL, ChurnModel
from tierflow_scoring.domain.policy import TierPolicy, load_policy

log = logging.getLogger(__name__)


class ActiveRules:
    """The policy and model every evaluation uses; `refresh` picks up a newly activated version."""

    def __init__(self, *, engine: AsyncEngine, clock: Clock, default_policy: Path, refresh_s: float = 10.0) -> None:
        self._engine = engine
        self._clock = clock
        self._default_policy = default_policy
        self._refresh_s = refresh_s
        self.policy: TierPolicy | None = None
        self.model: ChurnModel | None = None

    async def ensure(self) -> None:
        """Install the shipped defaults where nothing is active yet, then load what is active."""
        async with self._engine.begin() as conn:
            await hold_until_commit(conn, registry.LOCK)  # replicas starting at once install them once
            now = self._now()
            if await registry.active_policy(conn) is None:
                await registry.store_policy(conn, load_policy(self._default_policy), now=now, activate=True)
            if await registry.active_model(conn) is None:
                await registry.store_model(conn, REFERENCE_MODEL, now=now, activate=True, source="published CDNOW fit")
        await self.refresh()
        await self._review_outdated()

    async def refresh(self) -> bool:
        """Reload the active versions; True when either changed."""
        async with self._engine.connect() as conn:
            policy = await registry.active_policy(conn)
            model = await registry.active_model(conn)
        changed = (policy and self.policy and policy.version != self.policy.version) or (
            model and self.model and model.version != self.model.version
        )
        self.policy, self.model = policy, model
        if changed:
            log.info("rules changed", extra={"policy": policy and policy.version, "model": model and model.version})
            await self._review_outdated()
        return bool(changed)

    async def _review_outdated(self) -> None:
        """Everyone scored under other versions is due now: the sweeper re-scores them under these."""
        policy, model = self.current()
        async with self._engine.begin() as conn:
            due = await repository.review_outdated(
                conn, policy_version=policy.version, model_version=model.version, at=self._now()
            )
        if due:
            log.info("customers due for re-scoring under new rules", extra={"customers": due})

    async def run(self, stop: asyncio.Event) -> None:
        """Background task: refresh every few seconds until stopped."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._refresh_s)
            except TimeoutError:
                try:
                    await self.refresh()
                except Exception as exc:
                    log.warning("rules refresh failed", extra={"error": type(exc).__name__})

    def current(self) -> tuple[TierPolicy, ChurnModel]:
        assert self.policy is not None and self.model is not None, "ensure() first"
        return self.policy, self.model

    def _now(self) -> datetime:
        return self._clock.now()
