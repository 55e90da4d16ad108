"""Experiments and the global holdout: the assignment hash, the arms, and what is locked once stored. Pure.

The assignment, stated so an analyst can recompute it (docs/experiments.md has it in SQL too):

    h = int.from_bytes(hashlib.sha256(f"{salt}:{customer_id}".encode("utf-8")).digest()[:8], "big")
    bucket = h / 2**64                       # exact (a fraction), 0 <= bucket < 1

1. The global holdout first: `bucket(holdout.salt) < holdout.share` puts the customer in the arm
   `holdout` (probability `holdout.share`), whatever the experiments say.
2. Otherwise the first experiment, in policy order, that is running and whose population matches:
   the customer is enrolled when `bucket(salt) < population.share`; then `position = bucket /
   population.share`, and the arm is the first whose cumulative weight share exceeds `position`
   (arms in policy order, `cumulative_weight / total_weight`). Probability: `weight / total_weight *
   population.share`.

Shares are compared as the decimals written in the policy (`Fraction(repr(share))`), so the
comparisons are exact and a SQL `numeric` recomputation gives the same arms.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from fractions import Fraction
from typing import Any

from tierflow_common.events.outputs import HOLDOUT_ARM
from tierflow_routing.domain.facts import Assignment
from tierflow_routing.domain.policy import Arm, Experiment, Holdout, RoutingPolicy

_SPACE = 2**64


def bucket(salt: str, customer_id: str) -> Fraction:
    """The customer's uniform position in [0, 1) under `salt`: the first 8 bytes of SHA-256, over 2**64."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return Fraction(int.from_bytes(digest[:8], "big"), _SPACE)


def exact_share(share: float) -> Fraction:
    """A share as the decimal the policy states (0.05 is 1/20, not the nearest binary float)."""
    return Fraction(repr(share))


def holdout_assignment(holdout: Holdout | None, customer_id: str) -> Assignment | None:
    """The `holdout` arm when the customer falls in the global holdout, else None."""
    if holdout is None or bucket(holdout.salt, customer_id) >= exact_share(holdout.share):
        return None
    return Assignment(holdout.id, HOLDOUT_ARM, holdout.share)


def arm_share(experiment: Experiment, arm: Arm) -> Fraction:
    """The chance of `arm` for a customer in the experiment's population (population share included)."""
    total = sum(a.weight for a in experiment.arms)
    return Fraction(arm.weight, total) * exact_share(experiment.population.share)


def drawn_arm(experiment: Experiment, customer_id: str) -> Arm | None:
    """The arm the hash gives a customer of the experiment's population; None when not drawn into it."""
    enrolled = exact_share(experiment.population.share)
    drawn = bucket(experiment.salt, customer_id)
    if drawn >= enrolled:
        return None
    position = drawn / enrolled
    total = sum(a.weight for a in experiment.arms)
    cumulative = 0
    for arm in experiment.arms:
        cumulative += arm.weight
        if position < Fraction(cumulative, total):
            return arm
    raise AssertionError("position < 1 always falls in an arm")


def arm_assignment(experiment: Experiment, arm: Arm) -> Assignment:
    """What the decision carries for a customer in `arm`."""
    return Assignment(experiment.id, arm.name, float(arm_share(experiment, arm)), arm.playbook)


def next_boundary(policy: RoutingPolicy, at: datetime) -> datetime | None:
    """The next start or end of an experiment after `at` (when assignments may change with no event)."""
    moments = [m for e in policy.experiments for m in (e.start, e.end) if m is not None and m > at]
    return min(moments, default=None)


def _locked_terms(policy: RoutingPolicy) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per experiment or holdout id: its kind and what may not change once stored."""
    terms: dict[str, tuple[str, dict[str, Any]]] = {}
    for experiment in policy.experiments:
        locked = experiment.model_dump(mode="json", include={"salt", "population", "arms"})
        terms[experiment.id] = ("an experiment", locked)
    if policy.holdout is not None:
        terms[policy.holdout.id] = ("the holdout", policy.holdout.model_dump(mode="json", include={"salt", "share"}))
    return terms


def locked_changes(candidate: RoutingPolicy, stored: Iterable[RoutingPolicy]) -> list[str]:
    """What `candidate` changes in experiments or holdouts stored before (empty when nothing): each is refused,
    since a change of population, arms (weights, flow, priority, playbook), shares or salt is a new experiment,
    under a new id."""
    wanted = _locked_terms(candidate)
    problems: dict[str, str] = {}
    for earlier in stored:
        for ident, (kind, terms) in _locked_terms(earlier).items():
            if ident not in wanted or ident in problems or wanted[ident] == (kind, terms):
                continue
            now_kind, now_terms = wanted[ident]
            if now_kind != kind:
                changed = f"was {kind} and is now {now_kind}"
            else:
                changed = "changes " + ", ".join(k for k in terms if terms[k] != now_terms.get(k))
            problems[ident] = f"{ident} (stored in version {earlier.version}) {changed}"
    return [problems[ident] for ident in sorted(problems)]
