"""Whether a new routing decision starts a new playbook or continues the one in force. Pure.

A playbook is chosen by the decision's flow and priority and addressed to its advisor
(domain/playbooks.py). Routing publishes a new decision for other reasons too: the customer joins or
leaves an experiment arm or the global holdout (docs/experiments.md) with the same flow. Planning the
playbook again then would send the welcome, the introduction and the day-0 invitation a second
time. So a decision that keeps the flow, the priority and the advisor of the playbook in force, and
is active as it was, continues it: the steps already planned stay (they belong to the decision that
planned them, the plan's decision), nothing is planned, and only what the new decision adds applies
(a holdout suppresses the pending marketing steps, domain/holdout.py). Any other new decision
replaces the plan (`route_changed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tierflow_common.events.outputs import Flow, Priority
from tierflow_notification.domain.outreach import Decision


@dataclass(frozen=True, slots=True)
class PlanInForce:
    """The decision whose playbook the customer's steps come from, and what chose that playbook."""

    decision_id: UUID
    flow: Flow
    priority: Priority
    advisor_id: str | None


def plan_of(decision: Decision) -> PlanInForce | None:
    """The plan a decision puts in force when it is planned: none for an inactive one (it plans nothing)."""
    if not decision.active:
        return None
    return PlanInForce(decision.decision_id, decision.flow, decision.priority, decision.advisor_id)


def continues(plan: PlanInForce | None, decision: Decision) -> bool:
    """The new decision keeps the playbook in force (same flow, priority and advisor, still active)."""
    return (
        plan is not None
        and decision.active
        and (plan.flow, plan.priority, plan.advisor_id) == (decision.flow, decision.priority, decision.advisor_id)
    )


def plans_after(
    current: dict[str, Decision], in_force: dict[str, PlanInForce]
) -> tuple[dict[str, Decision], dict[str, Decision], dict[str, PlanInForce | None]]:
    """Split the customers' new decisions into those that replace the plan and those that continue it,
    with the plan in force for each customer afterwards."""
    replaced: dict[str, Decision] = {}
    continued: dict[str, Decision] = {}
    after: dict[str, PlanInForce | None] = {}
    for customer, decision in current.items():
        plan = in_force.get(customer)
        if continues(plan, decision):
            continued[customer] = decision
            after[customer] = plan
        else:
            replaced[customer] = decision
            after[customer] = plan_of(decision)
    return replaced, continued, after
