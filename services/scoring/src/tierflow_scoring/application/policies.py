"""Use cases on tier policies: check a policy file, activate it, show the active one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import Clock
from tierflow_scoring.adapters.policies import POLICIES
from tierflow_scoring.application.errors import NoActivePolicy, PolicyInvalid
from tierflow_scoring.domain.policy import PolicyError, TierPolicy, load_policy


@dataclass(frozen=True)
class PolicyActivated:
    """The policy now active, and whether it was not already (every customer is then re-scored)."""

    policy: TierPolicy
    changed: bool


def read_policy(path: Path) -> TierPolicy:
    """A validated policy from a YAML file; PolicyInvalid names every problem."""
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise PolicyInvalid(str(exc)) from None


async def activate_policy_file(engine: AsyncEngine, clock: Clock, path: Path) -> PolicyActivated:
    """Validate a policy file, store its version and make it active (VersionConflict if the version is taken)."""
    policy = read_policy(path)
    async with engine.begin() as conn:
        changed = await POLICIES.store(conn, policy, now=clock.now(), activate=True)
    return PolicyActivated(policy=policy, changed=changed)


async def active_policy(engine: AsyncEngine) -> TierPolicy:
    """The active policy; NoActivePolicy before the service installed one."""
    async with engine.connect() as conn:
        policy = await POLICIES.active(conn)
    if policy is None:
        raise NoActivePolicy("no active policy (the scoring service installs the default when it starts)")
    return policy
