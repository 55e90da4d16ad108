"""Routing policies: the active one, uploading a new version (audited), simulating a candidate on the population."""

from __future__ import annotations

from dataclasses import dataclass

from tierflow_common.db.locks import hold_until_commit
from tierflow_common.db.registry import VersionConflict
from tierflow_routing.adapters import advisors, changes, customers, policies
from tierflow_routing.adapters.changes import Change
from tierflow_routing.adapters.policies import POLICIES, created_by
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.application.errors import ExperimentLocked, NoActivePolicy, PolicyInvalid, PolicyVersionTaken
from tierflow_routing.domain.experiments import locked_changes
from tierflow_routing.domain.policy import RoutingPolicy, RoutingPolicyError, parse_routing_policy
from tierflow_routing.domain.simulation import Outcome, Simulation, outcome, replay_assignment


def parse(document: str) -> RoutingPolicy:
    """A routing policy from its YAML text; PolicyInvalid names every problem."""
    try:
        return parse_routing_policy(document, source="uploaded policy")
    except RoutingPolicyError as exc:
        raise PolicyInvalid(str(exc)) from None


async def active_policy(ctx: RoutingContext) -> RoutingPolicy:
    """The routing policy in force."""
    async with ctx.engine.connect() as conn:
        policy = await POLICIES.active(conn)
    if policy is None:
        raise NoActivePolicy("no routing policy is active yet")
    return policy


async def upload_policy(ctx: RoutingContext, document: str, *, actor: str) -> RoutingPolicy:
    """Store a new version (or take a stored one again) and make it active; the worker re-routes everyone
    decided under another. Audited: who uploaded or reactivated which version, replacing which. Refused
    (ExperimentLocked) when it changes the locked terms of an experiment or holdout of any stored version."""
    policy = parse(document)
    now = ctx.clock.now()
    try:
        async with ctx.engine.begin() as conn:
            await hold_until_commit(conn, POLICIES.lock)  # the version before this one is read under the lock
            stored = [version.document for version in await POLICIES.versions(conn)]
            changed = locked_changes(policy, stored)
            if changed:
                raise ExperimentLocked(
                    "experiments and the holdout are locked once stored (a change is a new experiment: give it a "
                    "new id): " + "; ".join(changed)
                )
            previous = await policies.active_version(conn)
            known = await policies.is_stored(conn, policy.version)
            if await POLICIES.store(conn, policy, now=now, activate=True, details=created_by(actor)):
                action = "reactivated" if known else "uploaded"
                await policies.record_activation(
                    conn, version=policy.version, action=action, actor=actor, at=now, previous=previous
                )
    except VersionConflict as exc:
        raise PolicyVersionTaken(exc.detail) from None
    return policy


async def policy_history(ctx: RoutingContext) -> list[Change]:
    """Who made which routing policy version active, newest first (the last 50)."""
    async with ctx.engine.connect() as conn:
        return await changes.history(conn, subject="policy")


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """A candidate's effect beside the version in force."""

    candidate: RoutingPolicy
    active: RoutingPolicy
    simulation: Simulation


async def simulate_policy(ctx: RoutingContext, document: str) -> SimulationResult:
    """Evaluate a candidate for every routed customer and replay advisor assignment; applies nothing."""
    candidate = parse(document)
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        active = await POLICIES.active(conn)
        if active is None:
            raise NoActivePolicy("no routing policy is active yet")
        team = [record.advisor() for record in await advisors.list_advisors(conn)]
        outcomes: list[Outcome] = []
        async for state in customers.stream_states(conn):
            found = outcome(state, candidate, now)
            if found is not None:
                outcomes.append(found)
    return SimulationResult(candidate, active, replay_assignment(outcomes, team, candidate))
