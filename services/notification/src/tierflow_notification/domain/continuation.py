"""Whether a new routing decision starts a new playbook or continues the one in force. Pure.

A playbook is chosen by the decision's flow and priority, and by the variant its experiment arm
names (domain/playbooks.py, `PlaybookSet.choose`), and addressed to its advisor. Routing publishes a
new decision for other reasons too: the customer joins or leaves an experiment arm or the global
holdout (docs/experiments.md) with the same flow. Planning the playbook again then would send the
welcome, the introduction and the day-0 invitation a second time. So a decision that keeps the flow,
the priority, the advisor and the playbook variant played of the plan in force, and is active as it
was, continues it: the steps already planned stay (they belong to the decision that planned them, the
plan's decision), nothing is planned, and only what the new decision adds applies (a holdout
suppresses the pending marketing steps, domain/holdout.py). Any other new decision replaces the plan
(`route_changed`), a switch to or from a variant, or between two, included.

The variant compared is the one played, not the one named: a decision whose arm names a variant the
file does not have (for its flow) plays the flow's playbook, and so continues a plan of the flow's
playbook; nothing different would be sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from uuid import UUID

from tierflow_common.events.outputs import Flow, Priority
from tierflow_notification.domain.outreach import Decision
from tierflow_notification.domain.playbooks import PlaybookSet


@dataclass(frozen=True, slots=True)
class PlanInForce:
    """The decision whose playbook the customer's steps come from, and what chose that playbook."""

    decision_id: UUID
    flow: Flow
    priority: Priority
    advisor_id: str | None
    playbook: str | None = None  # the variant played; None: the flow's own playbook


def plan_of(decision: Decision, playbook: str | None = None) -> PlanInForce | None:
    """The plan a decision puts in force when it is planned, playing `playbook` (None: the flow's own): none for
    an inactive one (it plans nothing)."""
    if not decision.active:
        return None
    return PlanInForce(decision.decision_id, decision.flow, decision.priority, decision.advisor_id, playbook)


def continues(plan: PlanInForce | None, decision: Decision, playbook: str | None = None) -> bool:
    """The new decision, playing `playbook`, keeps the plan in force (same flow, priority, advisor and variant,
    still active)."""
    return (
        plan is not None
        and decision.active
        and (plan.flow, plan.priority, plan.advisor_id, plan.playbook)
        == (decision.flow, decision.priority, decision.advisor_id, playbook)
    )


def plans_after(
    current: Mapping[str, Decision], in_force: Mapping[str, PlanInForce], playbooks: PlaybookSet
) -> tuple[dict[str, Decision], dict[str, Decision], dict[str, PlanInForce | None]]:
    """Split the customers' new decisions into those that replace the plan and those that continue it,
    with the plan in force for each customer afterwards."""
    replaced: dict[str, Decision] = {}
    continued: dict[str, Decision] = {}
    after: dict[str, PlanInForce | None] = {}
    for customer, decision in current.items():
        plan = in_force.get(customer)
        played = playbooks.choose(decision.flow, decision.priority, decision.playbook).variant
        if continues(plan, decision, played):
            continued[customer] = decision
            after[customer] = plan
        else:
            replaced[customer] = decision
            after[customer] = plan_of(decision, played)
    return replaced, continued, after
