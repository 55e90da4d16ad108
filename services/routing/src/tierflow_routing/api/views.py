"""Request and response models of the routing API (XRead / XWrite), with examples for OpenAPI."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from tierflow_common.events.outputs import ChurnBand, ExperimentAssignment, Flow, Priority, Reason, ReasonRow, Tier
from tierflow_common.events.types import Money, OpaqueId
from tierflow_routing.adapters.advisors import AdvisorChange, AdvisorRecord
from tierflow_routing.api.audit_views import OverrideAuditRead
from tierflow_routing.application.customers import Explanation
from tierflow_routing.application.overrides import OverrideRequest
from tierflow_routing.domain.facts import CustomerState, Override, ProfileFacts
from tierflow_routing.domain.policy import Rule
from tierflow_routing.domain.read_model import DecisionRead, RouteRead


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


# Free text people type (reasons): any printable text, no control characters.
Text = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]
# A language tag: "zh", "en", "zh-Hant", "pt-BR".
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


class Figures(View):
    total_assets: Money | None = Field(default=None, examples=["1250000.00"])
    commission_12m: Money = Field(default=Decimal(0), examples=["3400.50"])
    trades_90d: int = 0
    last_trade_at: datetime | None = None
    last_login_at: datetime | None = None
    digital_logins_30d: int = Field(default=0, description="App, web and mini-program logins in 30 days.")


class CustomerRead(View):
    """What the firm knows about a customer's value and risk, for front ends and workbenches."""

    customer_id: str = Field(examples=["C000123"])
    tier: Tier | None = None
    churn_band: ChurnBand | None = None
    churn_score: float = Field(default=0.0, ge=0, le=1)
    p_alive: float | None = Field(default=None, ge=0, le=1)
    value_score: float = Field(default=0.0, ge=0, le=1)
    signals: list[str] = Field(default_factory=list, examples=[["login_gap"]])
    flow: Flow | None = None
    figures: Figures = Figures()
    scored_at: datetime | None = None

    @classmethod
    def of(cls, state: CustomerState) -> CustomerRead:
        """The view of what routing knows of a customer."""
        score, profile = state.score, state.profile
        return cls(
            customer_id=state.customer_id,
            tier=None if score.tier is None else Tier(score.tier),
            churn_band=None if score.churn_band is None else ChurnBand(score.churn_band),
            churn_score=score.churn_score,
            p_alive=score.p_alive,
            value_score=score.value_score,
            signals=score.signals,
            flow=None if state.route is None else Flow(state.route.flow),
            figures=Figures(
                total_assets=profile.total_assets,
                commission_12m=profile.commission_12m,
                trades_90d=profile.trades_90d,
                last_trade_at=profile.last_trade_at,
                last_login_at=profile.last_login_at,
                digital_logins_30d=profile.digital_logins_30d,
            ),
            scored_at=score.decided_at,
        )


class CustomerSelfRead(View):
    """What a customer's own app is shown of them: tier, flow and their own figures, never churn internals."""

    customer_id: str = Field(examples=["C000123"])
    tier: Tier | None = None
    flow: Flow | None = None
    figures: Figures = Figures()

    @classmethod
    def of(cls, state: CustomerState) -> CustomerSelfRead:
        """The customer-facing view of what routing knows of a customer."""
        staff = CustomerRead.of(state)
        return cls(customer_id=staff.customer_id, tier=staff.tier, flow=staff.flow, figures=staff.figures)


class RuleRead(View):
    name: str = Field(examples=["a_at_risk_retention"])
    description: str = ""
    when: dict[str, Any] = Field(default_factory=dict, examples=[{"tier": ["A"], "churn_band": ["high"]}])
    then: dict[str, Any] = Field(default_factory=dict, examples=[{"flow": "private_advisor", "priority": "urgent"}])

    @classmethod
    def of(cls, rule: Rule) -> RuleRead:
        """A rule as the policy states it (conditions given, outcome)."""
        return cls(
            name=rule.name,
            description=rule.description,
            when={k: v for k, v in rule.when.model_dump(mode="json").items() if v is not None},
            then=rule.then.model_dump(mode="json"),
        )


class OverrideRead(View):
    flow: Flow
    advisor_id: str | None = None
    priority: Priority
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, override: Override) -> OverrideRead:
        """The view of an override in force."""
        return cls(
            flow=Flow(override.flow),
            advisor_id=override.advisor_id,
            priority=Priority(override.priority),
            reason=override.reason,
            created_by=override.created_by,
            created_at=override.created_at,
            expires_at=override.expires_at,
        )


class ScoreExplanation(View):
    tier: Tier | None = None
    churn_band: ChurnBand | None = None
    p_alive: float | None = None
    churn_score: float = 0.0
    value_score: float = 0.0
    signals: list[str] = Field(default_factory=list)
    tier_reasons: list[Reason] = Field(default_factory=list)
    churn_reasons: list[Reason] = Field(default_factory=list)
    policy_version: str | None = None
    model_version: str | None = None


def _reasons(rows: list[ReasonRow]) -> list[Reason]:
    return [Reason(code=c, contribution=w, detail=d) for c, w, d in rows]


def _facts(profile: ProfileFacts) -> dict[str, Any]:
    """The profile figures as named values (the struct is stored as an array)."""
    values = msgspec.to_builtins(profile, builtin_types=(datetime, Decimal))
    return dict(zip(ProfileFacts.__struct_fields__, values, strict=True)) if isinstance(values, list) else values


class ExplainRead(View):
    """Why the customer is where they are: inputs, the matched rule, the tier and churn reasons, overrides."""

    customer_id: str
    routing_policy_version: str
    matched_rule: RuleRead | None = Field(
        default=None, description="Null when an override or a closed account decides."
    )
    decided_by: str = Field(description="The rule name, staff_override or closed.", examples=["a_at_risk_retention"])
    experiment: ExperimentAssignment | None = Field(
        default=None,
        description="The experiment arm (or the global holdout) the active policy gives the customer now; null when "
        "none. The stored decision's is `route.experiment`.",
    )
    route: RouteRead | None = None
    facts: dict[str, Any] = Field(default_factory=dict, description="The profile figures routing used.")
    score: ScoreExplanation = ScoreExplanation()
    override: OverrideRead | None = None
    override_history: list[OverrideAuditRead] = Field(default_factory=list)
    waitlisted_since: datetime | None = None

    @classmethod
    def of(cls, explanation: Explanation) -> ExplainRead:
        """The view of an explanation."""
        state, score = explanation.state, explanation.state.score
        return cls(
            customer_id=state.customer_id,
            routing_policy_version=explanation.policy.version,
            matched_rule=None if explanation.matched_rule is None else RuleRead.of(explanation.matched_rule),
            decided_by=explanation.wanted.rule,
            experiment=None if explanation.wanted.experiment is None else explanation.wanted.experiment.contract(),
            route=explanation.route,
            facts=_facts(state.profile),
            score=ScoreExplanation(
                tier=None if score.tier is None else Tier(score.tier),
                churn_band=None if score.churn_band is None else ChurnBand(score.churn_band),
                p_alive=score.p_alive,
                churn_score=score.churn_score,
                value_score=score.value_score,
                signals=score.signals,
                tier_reasons=_reasons(score.reasons),
                churn_reasons=_reasons(score.churn_reasons),
                policy_version=score.policy_version,
                model_version=score.model_version,
            ),
            override=None if state.override is None else OverrideRead.of(state.override),
            override_history=[
                OverrideAuditRead(action=h.action, actor=h.actor, at=h.at, reason=h.reason, details=h.details)
                for h in explanation.override_history
            ],
            waitlisted_since=state.waitlisted_since,
        )


class OverrideWrite(View):
    """A staff override: where the customer goes until it expires, and why."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "flow": "private_advisor",
                    "advisor_id": "ADV017",
                    "priority": "high",
                    "reason": "relationship manager asked to keep the customer during the family-trust review",
                    "expires_at": "2026-12-31T16:00:00Z",
                }
            ]
        },
    )

    flow: Flow
    advisor_id: OpaqueId | None = None
    priority: Priority = Priority.NORMAL
    reason: Text = Field(min_length=3, max_length=500)
    expires_at: AwareDatetime

    def request(self) -> OverrideRequest:
        """What the use case is asked."""
        return OverrideRequest(
            flow=self.flow,
            priority=self.priority,
            reason=self.reason,
            expires_at=self.expires_at,
            advisor_id=self.advisor_id,
        )


class DecisionPage(View):
    """A page of a customer's decision log, newest first."""

    items: list[DecisionRead]
    next_before: int | None = Field(
        default=None, description="Pass as `before` for the next (older) page; null at the first decision."
    )


class RoutePage(View):
    items: list[RouteRead]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end.")


class AdvisorWrite(View):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "branch": "shenzhen-futian",
                    "region": "shenzhen",
                    "capacity": 120,
                    "licence_level": 4,
                    "languages": ["zh", "en"],
                    "active": True,
                }
            ]
        },
    )

    branch: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    region: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    capacity: StrictInt = Field(ge=0, le=10_000, description="Customers the advisor can serve.")
    licence_level: StrictInt = Field(ge=1, le=5, description="Highest customer suitability level (C1-C5) served.")
    languages: list[Language] = Field(default_factory=list, max_length=10)
    active: StrictBool = True

    def change(self) -> AdvisorChange:
        """What the use case is asked."""
        return AdvisorChange(
            branch=self.branch,
            region=self.region,
            capacity=self.capacity,
            licence_level=self.licence_level,
            languages=self.languages,
            active=self.active,
        )


class AdvisorRead(View):
    advisor_id: str
    branch: str
    region: str
    capacity: int
    licence_level: int
    languages: list[str]
    active: bool
    load: int = Field(description="Customers assigned now.")
    free: int = Field(description="Capacity left.")
    places_by_tier: dict[str, int] = Field(
        description="The advisor's places per tier under the routing policy in force (its `resources.advisor_places` "
        "shares, lent when `lend_unused`), dealt with the region's team (docs/routing.md, resource shares).",
        examples=[{"A": 36, "B": 48, "C": 24, "D": 12}],
    )
    used_by_tier: dict[str, int] = Field(
        description="Places taken, by the tier each counts under (sums to `load`).",
        examples=[{"A": 36, "B": 41, "C": 24, "D": 3}],
    )
    created_at: datetime
    updated_at: datetime
    created_by: str | None = Field(default=None, description="Who created the advisor (null before audit existed).")
    updated_by: str | None = Field(default=None, description="Who wrote the advisor last.")

    @classmethod
    def of(cls, record: AdvisorRecord, places: Mapping[str, int]) -> AdvisorRead:
        """The view of an advisor with their live load and their places per tier."""
        return cls(
            advisor_id=record.advisor_id,
            branch=record.branch,
            region=record.region,
            capacity=record.capacity,
            licence_level=record.licence_level,
            languages=record.languages,
            active=record.active,
            load=record.load,
            free=max(0, record.capacity - record.load),
            places_by_tier=dict(places),
            used_by_tier=dict(record.used_by_tier or {}),
            created_at=record.created_at,
            updated_at=record.updated_at,
            created_by=record.created_by,
            updated_by=record.updated_by,
        )
