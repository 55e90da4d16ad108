"""The routing policy registry: every version ever uploaded, exactly one active (the shared registry)."""

from __future__ import annotations

from tierflow_common.db.registry import DocumentKind, Registry
from tierflow_routing.adapters.tables import routing_policies
from tierflow_routing.domain.policy import RoutingPolicy, routing_policy_from_document

POLICY: DocumentKind[RoutingPolicy] = DocumentKind(
    name="routing policy",
    version_of=lambda policy: policy.version,
    to_row=lambda policy: {"document": policy.model_dump(mode="json"), "description": policy.description},
    from_row=lambda row: routing_policy_from_document(row["document"], source="stored policy"),
    content=("document",),
)

POLICIES = Registry(routing_policies, POLICY)
"""store (refusing other content under a known version), activate, active, versions, install_default; every
write holds the transaction lock named after the table, so replicas starting together install the default once."""


def created_by(actor: str) -> dict[str, object]:
    """The registry row's details for a version stored by `actor`."""
    return {"created_by": actor}
