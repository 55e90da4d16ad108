"""Routing decisions, pure: which rule matches, what the customer should get, and when that is news.

The service adds what needs the database (reserving advisor capacity, the waitlist); everything
here is plain data in, plain data out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tierflow_common.events.ids import derived_id_str
from tierflow_common.events.outputs import Flow, Priority
from tierflow_routing.domain.facts import CustomerState, ProfileFacts, ReasonRow, Route, ScoreFacts
from tierflow_routing.domain.policy import Conditions, Definitions, RoutingPolicy, Rule

PERSONAL_ADVICE = frozenset({Flow.PRIVATE_ADVISOR, Flow.ROBO_ADVISOR})


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


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the policy (or a staff override) wants for the customer, before advisor availability."""

    flow: Flow
    priority: Priority
    rule: str
    reasons: list[ReasonRow] = field(default_factory=list)
    advisor_id: str | None = None
    active: bool = True


def _describe(rule: Rule) -> str:
    conditions = {k: v for k, v in rule.when.model_dump(mode="json").items() if v is not None}
    shown = ", ".join(f"{k}={v}" for k, v in conditions.items()) or "everyone else"
    return f"rule {rule.name} ({shown}) -> {rule.then.flow.value}"


def wanted_outcome(state: CustomerState, policy: RoutingPolicy, at: datetime) -> Wanted:
    """Closed accounts leave every flow; an override in force wins; otherwise the first matching rule."""
    current = state.route
    if state.profile.closed:
        flow = Flow(current.flow) if current else Flow.COMMUNITY
        return Wanted(flow, Priority.NORMAL, "closed", [("account_closed", 1.0, "the account is closed")], active=False)
    override = state.override
    if override is not None and override.expires_at > at:
        detail = f"set by {override.created_by} until {override.expires_at:%Y-%m-%d %H:%M}Z: {override.reason}"
        return Wanted(
            Flow(override.flow),
            Priority(override.priority),
            "staff_override",
            [("staff_override", 1.0, detail)],
            advisor_id=override.advisor_id,
        )
    rule = first_match(policy, state.profile, state.score)
    reasons: list[ReasonRow] = [(f"rule_{rule.name}", 1.0, _describe(rule))]
    reasons += [(code, 0.0, rule.description or code.replace("_", " ")) for code in rule.then.reasons]
    return Wanted(rule.then.flow, rule.then.priority, rule.name, reasons)


def need_level(profile: ProfileFacts) -> int:
    """The advisor licence level a customer needs: their suitability level (C1 -> 1 .. C5 -> 5), 3 if unknown."""
    risk = profile.risk_level
    return int(risk[1]) if risk and len(risk) == 2 and risk[1].isdigit() else 3


@dataclass(frozen=True, slots=True)
class Advisor:
    advisor_id: str
    region: str
    capacity: int
    licence_level: int
    load: int
    active: bool


def eligible(advisor: Advisor, profile: ProfileFacts) -> bool:
    """Active, licensed for the customer's suitability level, and in the customer's region (if known)."""
    return (
        advisor.active
        and advisor.licence_level >= need_level(profile)
        and (profile.region is None or advisor.region == profile.region)
    )


def no_longer_suits(before: Advisor, after: Advisor) -> bool:
    """Whether a change to an advisor may leave some of their current customers ineligible for them:
    deactivated, moved to another region, or licensed for less."""
    return (
        (before.active and not after.active)
        or after.region != before.region
        or after.licence_level < before.licence_level
    )


def candidates(advisors: list[Advisor], profile: ProfileFacts) -> list[str]:
    """Eligible advisors with free capacity, least loaded (relative to capacity) first."""
    free = [a for a in advisors if eligible(a, profile) and a.load < a.capacity]
    free.sort(key=lambda a: (a.load / a.capacity, a.load, a.advisor_id))
    return [a.advisor_id for a in free]


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
    """Turn what is wanted into the route: robo_advisor when no advisor is free; a new decision only on change."""
    flow, reasons = wanted.flow, list(wanted.reasons)
    if flow is Flow.PRIVATE_ADVISOR and advisor_id is None and wanted.active:
        flow = Flow.ROBO_ADVISOR
        reasons.append(
            ("advisor_capacity_exhausted", 0.0, "no eligible advisor has free capacity: robo-advisor, on the waitlist")
        )
    if flow is not Flow.PRIVATE_ADVISOR or not wanted.active:
        advisor_id = None
    current = state.route
    same = current is not None and (current.flow, current.advisor_id, current.priority, current.active) == (
        flow.value,
        advisor_id,
        wanted.priority.value,
        wanted.active,
    )
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
    )
    return Settled(route, True)
