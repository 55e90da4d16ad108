"""Audit trails as the routing API shows them: overrides (who set, cleared or let expire one), and the
change audit of advisors and routing policies (who created, changed, uploaded or reactivated)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tierflow_routing.adapters.changes import Change


class OverrideAuditRead(BaseModel):
    """One entry of a customer's override trail."""

    model_config = ConfigDict(frozen=True)

    action: str = Field(examples=["set"])
    actor: str
    at: datetime
    reason: str
    details: dict[str, Any] = Field(default_factory=dict)


class ChangeRead(BaseModel):
    """One entry of the change audit: who changed an advisor or the active routing policy, when and how."""

    model_config = ConfigDict(frozen=True)

    subject_id: str = Field(description="The advisor id or the policy version.", examples=["ADV017"])
    action: str = Field(
        description="Advisors: created, updated. Policies: installed (the shipped default), uploaded, reactivated.",
        examples=["updated"],
    )
    actor: str = Field(description="The token's subject.", examples=["ops-17"])
    at: datetime
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="Advisors: the fields set, or `changed: {field: {from, to}}`. Policies: `previous` version.",
        examples=[{"changed": {"capacity": {"from": 120, "to": 100}}}],
    )

    @classmethod
    def of(cls, change: Change) -> ChangeRead:
        """The view of one audit entry."""
        return cls(
            subject_id=change.subject_id, action=change.action, actor=change.actor, at=change.at, details=change.details
        )
