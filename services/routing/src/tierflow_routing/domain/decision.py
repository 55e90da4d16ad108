"""Routing decisions, pure: which rule matches, what the customer should get, and when that is news.

A decision is a straight line (application/routing.py): `wanted_outcome` and `seat_request` decide,
the application reserves an advisor seat in the database, `settle` turns both into the route.
Everything here is plain data in, plain data out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tierflow_common.events.ids import derived_id_str
from tierflow_common.events.outputs import Flow, Priority, ReasonRow
from tierflow_routing.domain.advisors import SeatRequest, held_advisor, need_level
from tierflow_routing.domain.experiments import arm_assignment, drawn_arm, holdout_assignment
from tierflow_routing.domain.facts import Assignment, CustomerState, ProfileFacts, Route, ScoreFacts
from tierflow_routing.domain.policy import Arm, Conditions, Definitions, Experiment, RoutingPolicy, Rule


def digital_active(profile: ProfileFacts, definitions: Definitions) -> bool:
    return profile.digital_logins_30d >= definitions.digital_active_min_logins_30d


def community_engaged(profile: ProfileFacts, definitions: Definitions) -> bool:
    return profile.community_accepted_90d >= definitions.community_engaged_min_accepted_90d


def matches(when: Conditions, profile: ProfileFacts, score: ScoreFacts, definitions: Definitions) -> bool:
    """True when every condition given holds (a list means any of its values)."""
    checks = (
        (when.tier, score.tier),
        (when.churn_band, score.churn_band),
        (when.age_band, profile.age_band),
        (when.investor_type, profile.investor_type),
        (when.risk_level, profile.risk_level),
        (when.region, profile.region),
    )
    for allowed, value in checks:
        if allowed is not None and value not in {str(getattr(a, "value", a)) for a in allowed}:
            return False
    if when.signals_any is not None and not set(when.signals_any) & set(score.signals):
        return False
    if when.digital_active is not None and digital_active(profile, definitions) != when.digital_active:
        return False
    if when.community_engaged is not None and community_engaged(profile, definitions) != when.community_engaged:
        return False
    if when.consents is not None:
        for name, required in when.consents.items():
            if profile.consents.get(name, False) != required:
                return False
    return True


def first_match(policy: RoutingPolicy, profile: ProfileFacts, score: ScoreFacts) -> Rule:
    """The first rule whose conditions hold (the default rule always does)."""
    for rule in policy.rules:
        if matches(rule.when, profile, score, policy.definitions):
            return rule
    raise AssertionError("a validated policy ends with a default rule")


def experiment_for(policy: RoutingPolicy, state: CustomerState, rule: Rule, at: datetime) -> Experiment | None:
    """The first running experiment whose population the customer (decided by `rule`) belongs to."""
    for experiment in policy.experiments:
        population = experiment.population
        if not experiment.running(at):
            continue
        if population.rules is not None and rule.name not in population.rules:
            continue
        if matches(population.when, state.profile, state.score, policy.definitions):
            return experiment
    return None


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the policy (or a staff override) wants for the customer, before advisor availability."""

    flow: Flow
    priority: Priority
    rule: str
    reasons: list[ReasonRow] = field(default_factory=list)
    advisor_id: str | None = None
    active: bool = True
    experiment: Assignment | None = None


def seat_request(state: CustomerState, wanted: Wanted) -> SeatRequest:
    """What the wanted outcome asks of advisor capacity."""
    profile = state.profile
    held = held_advisor(state.route)
    tier = state.score.tier or "A"  # no route is decided before the first score
    return SeatRequest(
        needed=wanted.flow is Flow.PRIVATE_ADVISOR and wanted.active,
        held=held,
        named=wanted.advisor_id,
        region=profile.region,
        need=need_level(profile),
        tier=tier,
        held_tier=None if held is None else (state.advisor_tier or tier),
        within_share=wanted.rule != "staff_override",
    )


def _describe(rule: Rule) -> str:
    conditions = {k: v for k, v in rule.when.model_dump(mode="json").items() if v is not None}
    shown = ", ".join(f"{k}={v}" for k, v in conditions.items()) or "everyone else"
    return f"rule {rule.name} ({shown}) -> {rule.then.flow.value}"


def wanted_outcome(state: CustomerState, policy: RoutingPolicy, at: datetime) -> Wanted:
    """Closed accounts leave every flow; an override in force wins; otherwise the first matching rule, changed by
    the customer's experiment arm. A customer in the global holdout keeps the rule's (or override's) outcome."""
    current = state.route
    if state.profile.closed:
        flow = Flow(current.flow) if current else Flow.COMMUNITY
        return Wanted(flow, Priority.NORMAL, "closed", [("account_closed", 1.0, "the account is closed")], active=False)
    held_out = holdout_assignment(policy.holdout, state.customer_id)
    holdout_reasons: list[ReasonRow] = []
    if held_out is not None:
        share = held_out.assignment_probability
        detail = f"global holdout {held_out.experiment} ({share:.4g} of customers): no marketing outreach"
        holdout_reasons.append(("holdout", 0.0, detail))
    override = state.override
    if override is not None and override.expires_at > at:
        detail = f"set by {override.created_by} until {override.expires_at:%Y-%m-%d %H:%M}Z: {override.reason}"
        return Wanted(
            Flow(override.flow),
            Priority(override.priority),
            "staff_override",
            [("staff_override", 1.0, detail), *holdout_reasons],
            advisor_id=override.advisor_id,
            experiment=held_out,
        )
    rule = first_match(policy, state.profile, state.score)
    reasons: list[ReasonRow] = [(f"rule_{rule.name}", 1.0, _describe(rule))]
    reasons += [(code, 0.0, rule.description or code.replace("_", " ")) for code in rule.then.reasons]
    wanted = Wanted(rule.then.flow, rule.then.priority, rule.name, reasons + holdout_reasons, experiment=held_out)
    if held_out is not None:
        return wanted  # the holdout keeps the rule's outcome and takes part in no experiment
    experiment = experiment_for(policy, state, rule, at)
    arm = None if experiment is None else drawn_arm(experiment, state.customer_id)
    if experiment is None or arm is None:
        return wanted
    return in_arm(wanted, experiment, arm)


def in_arm(wanted: Wanted, experiment: Experiment, arm: Arm) -> Wanted:
    """The rule's outcome as the arm changes it (flow, priority), carrying the assignment (with the arm's playbook
    for notification) and a reason."""
    assignment = arm_assignment(experiment, arm)
    asked = (("flow", arm.flow), ("priority", arm.priority), ("playbook", arm.playbook))
    changes = [f"{name} {value}" for name, value in asked if value]
    detail = f"experiment {experiment.id}, arm {arm.name} (p={assignment.assignment_probability:.4g}): " + (
        ", ".join(changes) if changes else "the rule's outcome unchanged"
    )
    return Wanted(
        arm.flow or wanted.flow,
        arm.priority or wanted.priority,
        wanted.rule,
        [*wanted.reasons, ("experiment_arm", 0.0, detail)],
        experiment=assignment,
    )


@dataclass(frozen=True, slots=True)
class Settled:
    """The route after availability is known; `new` when it is a decision to publish."""

    route: Route
    new: bool


def settle(
    state: CustomerState,
    wanted: Wanted,
    *,
    advisor_id: str | None,
    policy_version: str,
    at: datetime,
    caused_by: str | None,
) -> Settled:
    """Turn what is wanted into the route: robo_advisor when no advisor is free; a new decision only when the
    flow, advisor, priority, active state or experiment arm changes."""
    flow, reasons = wanted.flow, list(wanted.reasons)
    if flow is Flow.PRIVATE_ADVISOR and advisor_id is None and wanted.active:
        flow = Flow.ROBO_ADVISOR
        reasons.append(
            ("advisor_capacity_exhausted", 0.0, "no eligible advisor has free capacity: robo-advisor, on the waitlist")
        )
    if flow is not Flow.PRIVATE_ADVISOR or not wanted.active:
        advisor_id = None
    current = state.route
    same = current is not None and (
        current.flow,
        current.advisor_id,
        current.priority,
        current.active,
        current.experiment,
    ) == (flow.value, advisor_id, wanted.priority.value, wanted.active, wanted.experiment)
    if same:
        assert current is not None
        kept = Route(
            decision_id=current.decision_id,
            version=current.version,
            flow=current.flow,
            priority=current.priority,
            active=current.active,
            rule=wanted.rule,
            reasons=reasons,
            policy_version=current.policy_version,
            decided_at=current.decided_at,
            advisor_id=current.advisor_id,
            supersedes=current.supersedes,
            caused_by=current.caused_by,
            experiment=current.experiment,
        )
        return Settled(kept, False)
    version = 1 if current is None else current.version + 1
    route = Route(
        decision_id=derived_id_str("routing", state.customer_id, version),
        version=version,
        flow=flow.value,
        priority=wanted.priority.value,
        active=wanted.active,
        rule=wanted.rule,
        reasons=reasons,
        policy_version=policy_version,
        decided_at=at,
        advisor_id=advisor_id,
        supersedes=None if current is None else current.decision_id,
        caused_by=caused_by,
        experiment=wanted.experiment,
    )
    return Settled(route, True)
