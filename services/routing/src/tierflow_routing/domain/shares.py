"""Advisor places split by tier share, pure: the shares in force (with lending) and each advisor's places per tier.

Rounding: a region's active advisors are laid end to end (by advisor id) and their places dealt one at a
time, each to the tier furthest below its share of the places dealt so far (ties: A before B before C before
D). Every prefix of that sequence is within one place of the exact share, so each advisor's split is as
close to the shares as whole places allow, and the region's total per tier is within one place of exact: an
advisor with 3 places cannot hold 10% D, but every third or fourth such advisor in the region gets a D place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from tierflow_common.events.outputs import Flow
from tierflow_routing.domain.advisors import Advisor
from tierflow_routing.domain.policy import Conditions, RoutingPolicy
from tierflow_routing.domain.resources import TIERS

Places = dict[str, int]  # {tier: places}


def _tiers_of(when: Conditions) -> set[str]:
    return {t.value for t in when.tier} if when.tier else set(TIERS)


def tiers_wanting_advisors(policy: RoutingPolicy) -> frozenset[str]:
    """Tiers some rule or experiment arm of the policy may send to a private advisor (an upper bound: a rule
    hidden by an earlier one still counts)."""
    wanting: set[str] = set()
    rules = {rule.name: rule for rule in policy.rules}
    for rule in policy.rules:
        if rule.then.flow is Flow.PRIVATE_ADVISOR:
            wanting |= _tiers_of(rule.when)
    for experiment in policy.experiments:
        if any(arm.flow is Flow.PRIVATE_ADVISOR for arm in experiment.arms):
            scope = _tiers_of(experiment.population.when)
            if experiment.population.rules is not None:
                scope &= set().union(*(_tiers_of(rules[name].when) for name in experiment.population.rules))
            wanting |= scope
    return frozenset(wanting)


def advisor_shares(policy: RoutingPolicy) -> dict[str, float]:
    """Each tier's share of advisor places in force: as declared, or, when lending, the shares of tiers the policy
    never sends to an advisor handed to those it does in proportion to their own (equally if those are all 0)."""
    resources = policy.resources_in_force()
    declared = resources.advisor_places.by_tier()
    wanting = tiers_wanting_advisors(policy)
    if not resources.lend_unused or not wanting or len(wanting) == len(TIERS):
        return declared
    total = sum(declared[t] for t in wanting)
    if total == 0:
        return {t: (1 / len(wanting) if t in wanting else 0.0) for t in TIERS}
    return {t: (declared[t] / total if t in wanting else 0.0) for t in TIERS}


@lru_cache(maxsize=64)
def _deal(shares: tuple[float, ...], capacities: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Deal the places of advisors laid end to end, each to the tier furthest below its share (cached: the team
    and the shares change rarely, the loads often)."""
    given = [0] * len(shares)
    dealt = 0
    out: list[tuple[int, ...]] = []
    for capacity in capacities:
        before = list(given)
        for _ in range(capacity):
            dealt += 1
            deficits = [share * dealt - g for share, g in zip(shares, given, strict=True)]
            given[deficits.index(max(deficits))] += 1
        out.append(tuple(g - b for g, b in zip(given, before, strict=True)))
    return tuple(out)


def deal_places(capacities: Sequence[int], shares: Mapping[str, float]) -> list[Places]:
    """Places per tier of advisors laid end to end in this order (the rounding rule of this module)."""
    dealt = _deal(tuple(shares[t] for t in TIERS), tuple(max(0, c) for c in capacities))
    return [dict(zip(TIERS, places, strict=True)) for places in dealt]


def places_by_tier(team: Iterable[Advisor], shares: Mapping[str, float]) -> dict[str, Places]:
    """{advisor_id: {tier: places}}: each region's active advisors dealt together by id; an inactive advisor
    (who takes nobody) alone, for display."""
    regions: dict[str, list[Advisor]] = defaultdict(list)
    out: dict[str, Places] = {}
    for advisor in team:
        if advisor.active:
            regions[advisor.region].append(advisor)
        else:
            out[advisor.advisor_id] = deal_places([advisor.capacity], shares)[0]
    for members in regions.values():
        members.sort(key=lambda a: a.advisor_id)
        for advisor, places in zip(members, deal_places([a.capacity for a in members], shares), strict=True):
            out[advisor.advisor_id] = places
    return out


def room_for(advisor: Advisor, tier: str, places: Places | None) -> bool:
    """Whether the advisor can take one more customer of `tier`: a free place, and (unless `places` is None: a
    staff override, which bypasses shares) the tier still under its places with the advisor."""
    if not advisor.active or advisor.load >= advisor.capacity:
        return False
    return places is None or advisor.used(tier) < places.get(tier, 0)
