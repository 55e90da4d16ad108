"""Resource shares: the policy section, lending, the rounding rule, and 2,000 customers through the assignment."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from tierflow_routing.domain.advisors import Advisor
from tierflow_routing.domain.facts import CustomerState, ProfileFacts, ScoreFacts
from tierflow_routing.domain.policy import DEFAULT_ROUTING_POLICY_FILE, RoutingPolicyError, load_routing_policy
from tierflow_routing.domain.policy import parse_routing_policy as parse
from tierflow_routing.domain.resources import TIERS
from tierflow_routing.domain.shares import (
    advisor_shares,
    deal_places,
    places_by_tier,
    room_for,
    tiers_wanting_advisors,
)
from tierflow_routing.domain.simulation import outcome, replay_assignment

NOW = datetime(2026, 12, 1, tzinfo=UTC)
EVERYONE_TO_ADVISORS = """
version: all-advisors
resources:
  advisor_places: {A: 0.3, B: 0.4, C: 0.2, D: 0.1}
rules:
  - {name: default, then: {flow: private_advisor}}
"""
DEFAULTS = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}


def test_shares_default_to_the_sources_30_40_20_10_for_places() -> None:
    policy = parse("version: v1\nrules:\n  - {name: default, then: {flow: community}}\n")
    resources = policy.resources_in_force()
    assert resources.advisor_places.by_tier() == DEFAULTS
    assert resources.lend_unused is True
    assert policy.waitlist_in_force().order.value == "value_times_risk"
    assert "resources" not in policy.document()  # a version stored before the section still compares equal
    assert policy.document_in_force()["resources"]["advisor_places"] == DEFAULTS  # type: ignore[index]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("resources: {advisor_places: {A: 0.5, B: 0.5, C: 0.2, D: 0.1}}", "must add up to 1; these add up to 1.3"),
        ("resources: {advisor_places: {A: 1.2, B: 0, C: 0, D: -0.2}}", "resources.advisor_places.A: Input should be"),
        ("resources: {outbound_calls: {A: 1}}", "resources: Value error, outbound_calls is set in the notification"),
        ("resources: {advisor_places: {A: 0.3, B: 0.4, C: 0.2, E: 0.1}}", "advisor_places.E: Extra inputs"),
        ("resources: {advisor_share: {A: 1}}", "resources.advisor_share: Extra inputs"),
        ("waitlist: {order: value}", "waitlist.order: Input should be 'value_times_risk' or 'arrival'"),
    ],
)
def test_invalid_shares_and_orders_are_refused_with_their_place(section: str, message: str) -> None:
    with pytest.raises(RoutingPolicyError) as refused:
        parse(f"version: v1\n{section}\nrules:\n  - {{name: default, then: {{flow: community}}}}\n")
    assert message in str(refused.value), str(refused.value)


def test_the_default_policy_sends_only_a_to_advisors_so_a_borrows_every_place() -> None:
    policy = load_routing_policy(DEFAULT_ROUTING_POLICY_FILE)
    assert tiers_wanting_advisors(policy) == {"A"}
    assert advisor_shares(policy) == {"A": 1.0, "B": 0.0, "C": 0.0, "D": 0.0}
    strict = parse(
        "version: v1\nresources: {lend_unused: false}\n"
        "rules:\n  - {name: a, when: {tier: [A]}, then: {flow: private_advisor}}\n"
        "  - {name: default, then: {flow: community}}\n"
    )
    assert advisor_shares(strict) == DEFAULTS


def test_only_the_unused_shares_are_lent_in_proportion() -> None:
    policy = parse(
        "version: v1\nrules:\n"
        "  - {name: ab, when: {tier: [A, B]}, then: {flow: private_advisor}}\n"
        "  - {name: c_wealthy, when: {tier: [C], age_band: [60_plus]}, then: {flow: private_advisor}}\n"
        "  - {name: default, then: {flow: community}}\n"
    )
    shares = advisor_shares(policy)  # D never wants an advisor: its 10% goes to A, B, C as 3:4:2
    assert shares["D"] == 0
    assert shares == pytest.approx({"A": 0.3 / 0.9, "B": 0.4 / 0.9, "C": 0.2 / 0.9, "D": 0.0})
    assert advisor_shares(parse(EVERYONE_TO_ADVISORS)) == DEFAULTS


def test_an_experiment_arm_to_advisors_counts_its_population_as_wanting() -> None:
    policy = parse(
        "version: v1\nrules:\n"
        "  - {name: a, when: {tier: [A]}, then: {flow: private_advisor}}\n"
        "  - {name: b, when: {tier: [B]}, then: {flow: robo_advisor}}\n"
        "  - {name: default, then: {flow: community}}\n"
        "experiments:\n  - id: b-advisors\n    salt: s1\n    population: {rules: [b]}\n"
        "    arms: [{name: control, weight: 1}, {name: advisor, weight: 1, flow: private_advisor}]\n"
    )
    assert tiers_wanting_advisors(policy) == {"A", "B"}


def test_places_are_dealt_along_the_region_so_small_books_still_add_up_to_the_shares() -> None:
    team = [Advisor(f"ADV{n:02d}", "shenzhen", 3, 5, 0, True) for n in range(40)]
    places = places_by_tier(team, DEFAULTS)
    assert all(sum(p.values()) == 3 for p in places.values())
    totals = Counter[str]()
    for p in places.values():
        totals.update(p)
    assert totals == {"A": 36, "B": 48, "C": 24, "D": 12}  # exactly 30/40/20/10 of 120
    assert places["ADV00"] == {"A": 1, "B": 1, "C": 1, "D": 0}  # one advisor with 3 places cannot hold 10% D
    assert sum(1 for p in places.values() if p["D"]) == 12


def test_every_prefix_of_the_deal_is_within_one_place_of_the_exact_share() -> None:
    rng = random.Random(12)
    for _ in range(50):
        raw = [rng.random() for _ in TIERS]
        shares = {t: r / sum(raw) for t, r in zip(TIERS, raw, strict=True)}
        capacities = [rng.randint(0, 20) for _ in range(30)]
        given = Counter[str]()
        dealt = 0
        for capacity, places in zip(capacities, deal_places(capacities, shares), strict=True):
            assert sum(places.values()) == capacity
            given.update(places)
            dealt += capacity
            assert all(abs(given[t] - shares[t] * dealt) < 1 for t in TIERS), (shares, given, dealt)


def test_a_tier_takes_a_place_only_while_under_its_places_unless_staff_override() -> None:
    advisor = Advisor("ADV1", "shenzhen", 10, 5, 4, True, {"A": 3, "B": 1})
    places = {"A": 3, "B": 4, "C": 2, "D": 1}
    assert not room_for(advisor, "A", places)
    assert room_for(advisor, "B", places)
    assert room_for(advisor, "A", None)  # an override bypasses shares, never capacity
    assert not room_for(Advisor("FULL", "shenzhen", 4, 5, 4, True, {"B": 4}), "A", None)


TIER_MIX = {"A": 0.08, "B": 0.22, "C": 0.50, "D": 0.20}  # a few wealthy, a long tail, a dormant fifth


def population(n: int, seed: int) -> list[CustomerState]:
    """`n` customers with a realistic tier mix in two regions, scored as the score topic publishes them."""
    rng = random.Random(seed)
    tiers = rng.choices(list(TIER_MIX), weights=list(TIER_MIX.values()), k=n)
    return [
        CustomerState(
            customer_id=f"C{i:05d}",
            profile=ProfileFacts(profile_version=1, region=rng.choice(["east", "west"]), risk_level="C3"),
            score=ScoreFacts(score_version=1, tier=tier, value_score=rng.random(), churn_score=rng.random()),
        )
        for i, tier in enumerate(tiers)
    ]


def test_shares_hold_within_two_points_over_2000_customers() -> None:
    rng = random.Random(7)
    team = [Advisor(f"E{n:02d}", "east", rng.randint(3, 15), 5, 0, True) for n in range(20)]
    team += [Advisor(f"W{n:02d}", "west", rng.randint(3, 15), 5, 0, True) for n in range(20)]
    policy = parse(EVERYONE_TO_ADVISORS)
    states = population(2000, seed=11)
    demand = Counter(s.score.tier for s in states)
    outcomes = [o for o in (outcome(s, policy, NOW) for s in states) if o is not None]
    result = replay_assignment(outcomes, team, policy)

    used: dict[str, Counter[str]] = defaultdict(Counter)
    for a in team:
        used[a.region].update(result.used_after[a.advisor_id])
        assert result.load_after[a.advisor_id] == a.capacity  # every place taken: demand exceeds every share
        assert sum(result.used_after[a.advisor_id].values()) == a.capacity
    for region, counts in used.items():
        total = sum(counts.values())
        for tier, share in DEFAULTS.items():
            assert abs(counts[tier] / total - share) <= 0.02, (region, tier, counts[tier], total)
    assert all(demand[t] > sum(u[t] for u in used.values()) for t in TIERS)  # every tier had more takers
    assert result.waitlist_after == 2000 - sum(a.capacity for a in team)
