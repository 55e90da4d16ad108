"""Response models of /v1/experiments: definitions, and per-arm outcomes against the control."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from tierflow_routing.api.views import View
from tierflow_routing.application.experiments import ExperimentReport, ExperimentSummary
from tierflow_routing.domain.experiment_stats import ArmComparison, ArmRate, Difference, Interval


class ArmRead(View):
    name: str
    weight: int
    share: float = Field(description="The chance of the arm for any customer (the population share included).")


class ExperimentRead(View):
    id: str
    kind: Literal["experiment", "holdout"]
    description: str
    status: Literal["scheduled", "running", "ended", "retired"] = Field(
        description="retired: defined by a policy version that is no longer active."
    )
    start: datetime | None
    end: datetime | None
    arms: list[ArmRead]

    @classmethod
    def of(cls, s: ExperimentSummary) -> ExperimentRead:
        arms = [ArmRead(name=a.name, weight=a.weight, share=a.share) for a in s.arms]
        return cls(
            id=s.id, kind=s.kind, description=s.description, status=s.status, start=s.start, end=s.end, arms=arms
        )


class IntervalRead(View):
    low: float
    high: float
    confidence: float

    @classmethod
    def of(cls, i: Interval) -> IntervalRead:
        return cls(low=i.low, high=i.high, confidence=i.confidence)


class DifferenceRead(View):
    estimate: float = Field(description="The arm's rate minus the control's (0.08 is eight points).")
    standard_error: float
    interval: IntervalRead
    method: str = Field(description="wald-unpooled (raw) or cuped-wald (adjusted by pre-period activity).")

    @classmethod
    def of(cls, d: Difference) -> DifferenceRead:
        return cls(
            estimate=d.estimate, standard_error=d.standard_error, interval=IntervalRead.of(d.interval), method=d.method
        )


class PowerRead(View):
    minimum_effect: float
    required_per_arm: int = Field(description="Customers needed in each of two equal arms.")
    detectable_effect: float = Field(description="The smallest effect detectable with the arms as they are.")
    enough: bool


class ArmOutcomeRead(View):
    arm: str
    customers: int = Field(description="Customers with a matured window (their first decision in the arm).")
    successes: int
    rate: float | None
    rate_interval: IntervalRead | None = Field(description="Wilson interval of the rate.")
    difference: DifferenceRead | None = Field(description="Raw difference to the control; none for the control.")
    adjusted_difference: DifferenceRead | None = Field(description="CUPED-adjusted difference; none without data.")
    power: PowerRead | None


class ExperimentReportRead(View):
    experiment: ExperimentRead
    window_days: int
    outcome: str
    flow: str | None
    control: str
    theta: float | None = Field(description="The pooled CUPED coefficient (none when pre-period activity is flat).")
    arms: list[ArmOutcomeRead]
    note: str | None = Field(description="Why there are no differences yet, when there are none.")

    @classmethod
    def of(cls, r: ExperimentReport) -> ExperimentReportRead:
        rates: dict[str, ArmRate] = {}
        compared: dict[str, ArmComparison] = {}
        if r.comparison is not None:
            rates[r.comparison.control.arm] = r.comparison.control
            for arm in r.comparison.arms:
                rates[arm.rate.arm], compared[arm.rate.arm] = arm.rate, arm
        arms = []
        for sample in r.samples:
            rate, c = rates.get(sample.arm), compared.get(sample.arm)
            arms.append(
                ArmOutcomeRead(
                    arm=sample.arm,
                    customers=sample.customers,
                    successes=sample.successes,
                    rate=None if rate is None else rate.rate,
                    rate_interval=None if rate is None else IntervalRead.of(rate.interval),
                    difference=None if c is None else DifferenceRead.of(c.raw),
                    adjusted_difference=None if c is None or c.adjusted is None else DifferenceRead.of(c.adjusted),
                    power=None
                    if c is None
                    else PowerRead(
                        minimum_effect=c.power.minimum_effect,
                        required_per_arm=c.power.required_per_arm,
                        detectable_effect=c.power.detectable_effect,
                        enough=c.power.enough,
                    ),
                )
            )
        return cls(
            experiment=ExperimentRead.of(r.experiment),
            window_days=r.window_days,
            outcome=r.outcome,
            flow=r.flow,
            control=r.control,
            theta=None if r.comparison is None else r.comparison.theta,
            arms=arms,
            note=r.note,
        )
