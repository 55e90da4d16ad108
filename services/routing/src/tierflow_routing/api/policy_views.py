"""Request and response models of /v1/policies: uploads, the policy in force, simulations."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from tierflow_routing.api.views import View
from tierflow_routing.application.policies import SimulationResult
from tierflow_routing.domain.policy import RoutingPolicy
from tierflow_routing.domain.resources import TIERS
from tierflow_routing.domain.shares import advisor_shares


class PolicyUpload(View):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [{"yaml": "version: routing-2026.12\nrules:\n  - name: default\n    then: {flow: community}\n"}]
        },
    )

    yaml: str = Field(min_length=1, max_length=200_000, description="The routing policy document (YAML).")


class PolicyRead(View):
    version: str
    description: str
    document: dict[str, Any]

    @classmethod
    def of(cls, policy: RoutingPolicy) -> PolicyRead:
        """The view of a routing policy."""
        return cls(version=policy.version, description=policy.description, document=policy.document_in_force())


class AdvisorLoad(View):
    advisor_id: str
    region: str
    capacity: int
    load_now: int
    load_after: int
    places_by_tier: dict[str, int] = Field(description="The advisor's places per tier under the candidate's shares.")
    load_now_by_tier: dict[str, int] = Field(description="Places taken now, by tier.")
    load_after_by_tier: dict[str, int] = Field(description="Places taken after, by tier.")


class SimulationRead(View):
    """What a candidate policy would do to the current population (nothing is applied)."""

    candidate_version: str
    active_version: str
    customers: int
    changed: int = Field(description="Customers whose flow would change.")
    moves: dict[str, dict[str, int]] = Field(
        description="moves[from_flow][to_flow] = customers", examples=[{"community": {"robo_advisor": 120}}]
    )
    advisor_load: list[AdvisorLoad]
    waitlist_after: int
    advisor_shares: dict[str, float] = Field(
        description="Each tier's share of advisor places under the candidate: its `resources.advisor_places`, with "
        "the shares of tiers it never sends to an advisor lent to the others when `lend_unused`."
    )

    @classmethod
    def of(cls, result: SimulationResult) -> SimulationRead:
        """The view of a simulation."""
        sim = result.simulation
        return cls(
            candidate_version=result.candidate.version,
            active_version=result.active.version,
            customers=sim.customers,
            changed=sim.changed,
            moves=sim.moves,
            advisor_load=[
                AdvisorLoad(
                    advisor_id=a.advisor_id,
                    region=a.region,
                    capacity=a.capacity,
                    load_now=sim.load_now[a.advisor_id],
                    load_after=sim.load_after[a.advisor_id],
                    places_by_tier=sim.places[a.advisor_id],
                    load_now_by_tier={t: a.used(t) for t in TIERS},
                    load_after_by_tier=sim.used_after[a.advisor_id],
                )
                for a in sim.team
            ],
            waitlist_after=sim.waitlist_after,
            advisor_shares=advisor_shares(result.candidate),
        )
