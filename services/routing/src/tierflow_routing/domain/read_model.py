"""The read model of a customer's current route: what front ends are served, by the API and from the cache."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tierflow_common.events.outputs import ChurnBand, ExperimentAssignment, Flow, Priority, Reason, Tier
from tierflow_common.events.types import CustomerId


class RouteRead(BaseModel):
    """A customer's current routing decision."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C000123",
                    "decision_id": "0b7e6a4e-8d2f-5a57-9a65-3f2f7c1b2d11",
                    "version": 3,
                    "flow": "private_advisor",
                    "advisor_id": "ADV017",
                    "priority": "urgent",
                    "active": True,
                    "tier": "A",
                    "churn_band": "high",
                    "reasons": [
                        {
                            "code": "rule_a_at_risk_retention",
                            "contribution": 1.0,
                            "detail": "rule a_at_risk_retention (tier=['A'], churn_band=['high']) -> private_advisor",
                        },
                        {"code": "retention_alert", "contribution": 0.0, "detail": "the advisor is alerted"},
                    ],
                    "policy_version": "routing-default-2026.11",
                    "decided_at": "2026-11-20T09:31:02.500+08:00",
                }
            ]
        },
    )

    customer_id: CustomerId
    decision_id: UUID
    version: int = Field(ge=1, description="Grows by one with every new decision for this customer.")
    flow: Flow
    advisor_id: str | None = None
    priority: Priority
    active: bool = Field(default=True, description="False for a closed account: show nothing.")
    tier: Tier
    churn_band: ChurnBand | None = None
    reasons: list[Reason]
    policy_version: str
    decided_at: AwareDatetime
    experiment: ExperimentAssignment | None = Field(
        default=None, description="The experiment arm (or the global holdout) of the decision; null when none."
    )


class CustomerRouteRead(BaseModel):
    """What a customer's own app is told of their route: where they go, never why (no churn band, reasons,
    priority or policy)."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C000123",
                    "decision_id": "0b7e6a4e-8d2f-5a57-9a65-3f2f7c1b2d11",
                    "version": 3,
                    "flow": "private_advisor",
                    "advisor_id": "ADV017",
                    "active": True,
                    "tier": "A",
                    "decided_at": "2026-11-20T09:31:02.500+08:00",
                }
            ]
        },
    )

    customer_id: CustomerId
    decision_id: UUID
    version: int = Field(ge=1)
    flow: Flow
    advisor_id: str | None = None
    active: bool = Field(default=True, description="False for a closed account: show nothing.")
    tier: Tier
    decided_at: AwareDatetime

    @classmethod
    def from_route_json(cls, body: bytes) -> bytes:
        """The customer's view, as JSON, of a route stored as RouteRead JSON (the cached bytes)."""
        return cls.model_validate_json(body).model_dump_json().encode()


class DecisionRead(RouteRead):
    """One entry of a customer's decision log: a route as decided, with the rule, its cause and its predecessor."""

    rule: str = Field(description="The policy rule that decided, staff_override or closed.")
    supersedes: UUID | None = Field(default=None, description="The decision this one replaced.")
    caused_by: UUID | None = Field(
        default=None, description="The score or profile event behind it; null for overrides, sweeps and capacity."
    )
