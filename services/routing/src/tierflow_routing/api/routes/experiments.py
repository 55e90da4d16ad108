"""/v1/experiments: the experiments and the holdout, and what each arm's customers did after their decision."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from tierflow_common.events.outputs import Flow
from tierflow_common.web.errors import documented
from tierflow_routing.api.deps import RoutingDep, StaffReaderDep
from tierflow_routing.api.experiment_views import ExperimentRead, ExperimentReportRead
from tierflow_routing.application import experiments

router = APIRouter(prefix="/v1/experiments", tags=["experiments"])

Outcome = Literal["returned", "traded_again", "logged_in", "kept_or_regained_tier", "became_dormant", "closed"]


@router.get(
    "",
    response_model=list[ExperimentRead],
    responses=documented(),
    summary="Experiments and the global holdout",
    description=(
        "Every experiment and holdout any routing policy version defines: arms, shares, and whether it is "
        "scheduled, running, ended or retired (no longer in the active version). Scope: `route:read`."
    ),
)
async def list_experiments(_: StaffReaderDep, routing: RoutingDep) -> list[ExperimentRead]:
    found = await experiments.list_experiments(routing.engine, now=routing.clock.now())
    return [ExperimentRead.of(s) for s in found]


@router.get(
    "/{experiment_id}",
    response_model=ExperimentReportRead,
    responses=documented(404, s404="No routing policy version defines this experiment or holdout."),
    summary="An experiment's outcomes per arm against its control",
    description=(
        "Per arm: customers with a matured window (each customer's first decision in the arm), the outcome "
        "rate with its Wilson interval, the difference to the control with a 95% interval, raw and adjusted by "
        "pre-period activity (CUPED), and whether the arms are large enough to detect `minimum_effect`. The "
        "control is the arm `control` of an experiment, or the holdout of the global holdout (against "
        "`programme`: everyone decided outside it). Scope: `route:read`."
    ),
)
async def experiment_report(
    experiment_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")],
    _: StaffReaderDep,
    routing: RoutingDep,
    window: Annotated[int, Query(description="The attribution window in days: 7, 30 or 90.")] = 30,
    outcome: Annotated[Outcome, Query(description="returned: traded again or logged in.")] = "returned",
    flow: Annotated[Flow | None, Query(description="Only decisions of this flow.")] = None,
    control: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    minimum_effect: Annotated[float, Query(gt=0, lt=1, description="For the power check.")] = 0.02,
) -> ExperimentReportRead:
    report = await experiments.experiment_report(
        routing.engine,
        experiment_id,
        now=routing.clock.now(),
        window_days=window,
        outcome=outcome,
        flow=None if flow is None else flow.value,
        control=control,
        minimum_effect=minimum_effect,
    )
    return ExperimentReportRead.of(report)
