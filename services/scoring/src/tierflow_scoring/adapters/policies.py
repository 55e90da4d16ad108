"""The tier policies: every version ever stored, exactly one active (the shared registry)."""

from __future__ import annotations

from tierflow_common.db.registry import DocumentKind, Registry
from tierflow_scoring.adapters.tables import policies
from tierflow_scoring.domain.policy import TierPolicy

LOCK = "scoring_registry"
"""Held by every transaction that stores or activates a policy or a churn model."""

POLICY: DocumentKind[TierPolicy] = DocumentKind(
    name="policy",
    version_of=lambda policy: policy.version,
    to_row=lambda policy: {"document": policy.model_dump(mode="json"), "description": policy.description},
    from_row=lambda row: TierPolicy.model_validate(row["document"]),
    content=("document",),
    conflict_hint="; bump `version`",
)

POLICIES = Registry(policies, POLICY, lock=LOCK)
