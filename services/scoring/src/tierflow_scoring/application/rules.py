"""The active policy and churn model: installed when missing, followed while running."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tierflow_common.clock import Clock
from tierflow_common.db.registry import Follower
from tierflow_scoring.adapters import scores
from tierflow_scoring.adapters.churn_models import CHURN_MODELS, fit_details
from tierflow_scoring.adapters.policies import POLICIES
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.model_file import SHIPPED_MODEL_FILE, load_model_file
from tierflow_scoring.domain.policy import TierPolicy, load_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rules:
    """What is active in the registries (None before anything was installed)."""

    policy: TierPolicy | None
    model: ChurnModel | None

    def versions(self) -> Hashable:
        return (
            None if self.policy is None else self.policy.version,
            None if self.model is None else self.model.version,
        )


class ActiveRules:
    """The policy and model every evaluation uses; a newly activated version re-scores everyone under it."""

    def __init__(self, *, engine: AsyncEngine, clock: Clock, default_policy: Path, refresh_s: float = 10.0) -> None:
        self._engine = engine
        self._clock = clock
        self._default_policy = default_policy
        self._follower = Follower(
            engine=engine,
            load=self._load,
            key=Rules.versions,
            on_change=self._changed,
            refresh_s=refresh_s,
            name="rules",
        )

    async def ensure(self) -> None:
        """Install the shipped defaults where nothing is active yet, then load what is active."""
        async with self._engine.begin() as conn:
            now = self._clock.now()
            await POLICIES.install_default(conn, lambda: load_policy(self._default_policy), now=now)
            shipped = load_model_file(SHIPPED_MODEL_FILE)
            details = {**fit_details(source=shipped.source), "customers": shipped.customers}
            details["calibration"] = shipped.calibration
            if not await CHURN_MODELS.install_default(conn, lambda: shipped.model, now=now, details=details):
                # already running under another model: the shipped one is stored beside it, to activate by name
                await CHURN_MODELS.store(conn, shipped.model, now=now, activate=False, details=details)
        await self._follower.refresh()

    async def refresh(self) -> bool:
        """Reload the active versions; True when either changed."""
        return await self._follower.refresh()

    async def run(self, stop: asyncio.Event) -> None:
        """Background task: refresh every few seconds until stopped."""
        await self._follower.run(stop)

    def current(self) -> tuple[TierPolicy, ChurnModel]:
        """The active policy and model; `ensure()` first."""
        rules = self._follower.current
        assert rules.policy is not None and rules.model is not None, "ensure() first"
        return rules.policy, rules.model

    @staticmethod
    async def _load(conn: AsyncConnection) -> Rules:
        return Rules(policy=await POLICIES.active(conn), model=await CHURN_MODELS.active(conn))

    async def _changed(self, rules: Rules, initial: bool) -> None:
        """Everyone scored under other versions is due now: the sweeper re-scores them under these."""
        policy, model = self.current()
        if not initial:
            log.info("rules changed", extra={"policy": policy.version, "model": model.version})
        async with self._engine.begin() as conn:
            due = await scores.mark_outdated_due(
                conn, policy_version=policy.version, model_version=model.version, at=self._clock.now()
            )
        if due:
            log.info("customers due for re-scoring under new rules", extra={"customers": due})
