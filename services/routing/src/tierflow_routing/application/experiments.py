"""Reading experiments: what is defined, and what each arm's customers did after their decision.

Experiments and the global holdout are defined in routing policy versions (docs/experiments.md); their
outcomes are the matured windows of `decision_outcomes`. A report compares every arm with a control
(domain/experiment_stats.compare_arms): for an experiment, its arm `control` (or the arm asked for);
for the global holdout, the holdout against everyone decided outside it (`programme`), which measures
the programme's total effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.events.outputs import HOLDOUT_ARM
from tierflow_routing.adapters import experiment_reports
from tierflow_routing.adapters.experiment_reports import OUTCOMES, PROGRAMME
from tierflow_routing.adapters.policies import POLICIES
from tierflow_routing.application.errors import ReportInvalid, UnknownExperiment
from tierflow_routing.domain.experiment_stats import (
    DEFAULT_MINIMUM_EFFECT,
    ArmSample,
    ExperimentComparison,
    InsufficientData,
    compare_arms,
)
from tierflow_routing.domain.outcomes import WINDOW_DAYS
from tierflow_routing.domain.policy import Experiment, Holdout, RoutingPolicy

CONTROL_ARM: Final = "control"
Status = Literal["scheduled", "running", "ended", "retired"]


@dataclass(frozen=True, slots=True)
class ArmDefinition:
    name: str
    weight: int
    share: float
    """the chance of the arm for any customer (the population share included)"""


@dataclass(frozen=True, slots=True)
class ExperimentSummary:
    """An experiment or the global holdout as the policy versions define it, and whether it is running now."""

    id: str
    kind: Literal["experiment", "holdout"]
    description: str
    status: Status
    start: datetime | None
    end: datetime | None
    arms: tuple[ArmDefinition, ...]


@dataclass(frozen=True, slots=True)
class ExperimentReport:
    """One outcome of one window, per arm against the control; `comparison` is None until every arm has two
    customers with a matured window (`note` says so)."""

    experiment: ExperimentSummary
    window_days: int
    outcome: str
    flow: str | None
    control: str
    samples: tuple[ArmSample, ...]
    comparison: ExperimentComparison | None
    note: str | None


def _experiment(experiment: Experiment, status: Status) -> ExperimentSummary:
    total = sum(a.weight for a in experiment.arms)
    share = experiment.population.share
    arms = tuple(ArmDefinition(a.name, a.weight, a.weight / total * share) for a in experiment.arms)
    return ExperimentSummary(
        experiment.id, "experiment", experiment.description, status, experiment.start, experiment.end, arms
    )


def _holdout(holdout: Holdout, status: Status) -> ExperimentSummary:
    arms = (ArmDefinition(HOLDOUT_ARM, 1, holdout.share), ArmDefinition(PROGRAMME, 1, 1 - holdout.share))
    return ExperimentSummary(holdout.id, "holdout", holdout.description, status, None, None, arms)


def _status(experiment: Experiment, now: datetime) -> Status:
    if experiment.start is not None and now < experiment.start:
        return "scheduled"
    return "running" if experiment.running(now) else "ended"


def summaries(active: RoutingPolicy | None, stored: list[RoutingPolicy], now: datetime) -> list[ExperimentSummary]:
    """Every experiment and holdout of any version: the active version's as they stand, the others `retired`
    (their terms cannot have changed: they are locked once stored)."""
    found: dict[str, ExperimentSummary] = {}
    if active is not None:
        for experiment in active.experiments:
            found[experiment.id] = _experiment(experiment, _status(experiment, now))
        if active.holdout is not None:
            found[active.holdout.id] = _holdout(active.holdout, "running")
    for policy in reversed(stored):  # newest first, so a retired one reads as it was last defined
        for experiment in policy.experiments:
            found.setdefault(experiment.id, _experiment(experiment, "retired"))
        if policy.holdout is not None:
            found.setdefault(policy.holdout.id, _holdout(policy.holdout, "retired"))
    return sorted(found.values(), key=lambda s: (s.status == "retired", s.id))


async def list_experiments(engine: AsyncEngine, *, now: datetime) -> list[ExperimentSummary]:
    """Every experiment and holdout the routing policy versions define."""
    async with engine.connect() as conn:
        active = await POLICIES.active(conn)
        stored = [version.document for version in await POLICIES.versions(conn)]
    return summaries(active, stored, now)


async def experiment_report(
    engine: AsyncEngine,
    experiment_id: str,
    *,
    now: datetime,
    window_days: int = 30,
    outcome: str = "returned",
    flow: str | None = None,
    control: str | None = None,
    minimum_effect: float = DEFAULT_MINIMUM_EFFECT,
) -> ExperimentReport:
    """Each arm's outcome rate and its difference to the control, raw and CUPED-adjusted, with power."""
    if window_days not in WINDOW_DAYS:
        raise ReportInvalid(f"window: one of {', '.join(map(str, WINDOW_DAYS))} days")
    if outcome not in OUTCOMES:
        raise ReportInvalid(f"outcome: one of {', '.join(OUTCOMES)}")
    found = {s.id: s for s in await list_experiments(engine, now=now)}
    summary = found.get(experiment_id)
    if summary is None:
        raise UnknownExperiment(f"no experiment or holdout {experiment_id!r} in any routing policy version")
    names = [a.name for a in summary.arms]
    chosen = control or (HOLDOUT_ARM if summary.kind == "holdout" else CONTROL_ARM)
    if chosen not in names:
        chosen = control or names[0]
        if chosen not in names:
            raise ReportInvalid(f"control: one of the arms {', '.join(names)}")
    async with engine.connect() as conn:
        samples = await experiment_reports.arm_samples(
            conn,
            experiment_id=experiment_id,
            window_days=window_days,
            outcome=outcome,
            flow=flow,
            holdout=summary.kind == "holdout",
        )
    by_arm = {s.arm: s for s in samples}
    ordered = tuple(by_arm.get(name, ArmSample(name, 0, 0)) for name in names)
    comparison, note = None, None
    try:
        comparison = compare_arms(ordered, control=chosen, minimum_effect=minimum_effect)
    except InsufficientData as exc:
        note = f"not enough matured {window_days}-day windows yet: {exc}"
    return ExperimentReport(summary, window_days, outcome, flow, chosen, ordered, comparison, note)
