"""What the routing API returns; also the document cached in Redis."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tierflow_common.events.outputs import ChurnBand, Flow, Priority, Reason, Tier
from tierflow_common.events.types import CustomerId
from tierflow_routing.adapters.repository import RouteRow


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

    @classmethod
    def from_row(cls, row: RouteRow) -> RouteRead:
        """The API view of a stored route row."""
        return cls(
            customer_id=row.customer_id,
            decision_id=row.decision_id,
            version=row.version,
            flow=Flow(row.flow),
            advisor_id=row.advisor_id,
            priority=Priority(row.priority),
            active=row.active,
            tier=Tier(row.tier),
            churn_band=None if row.churn_band is None else ChurnBand(row.churn_band),
            reasons=[Reason.model_validate(r) for r in row.reasons],
            policy_version=row.policy_version,
            decided_at=row.decided_at,
        )


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: a machine-readable code and a sentence for humans."""

    error: str = Field(examples=["forbidden"])
    detail: str = Field(examples=["this token may read only its own customer"])
