"""Advisor eligibility and choice: suitability, region, capacity, least loaded first."""

from __future__ import annotations

from dataclasses import replace

from tierflow_routing.domain.advisors import Advisor, candidates, eligible, need_level, no_longer_suits
from tierflow_routing.domain.facts import ProfileFacts


def advisor(
    advisor_id: str,
    *,
    region: str = "shenzhen",
    capacity: int = 10,
    licence: int = 4,
    load: int = 0,
    active: bool = True,
) -> Advisor:
    return Advisor(advisor_id, region, capacity, licence, load, active)


def test_the_need_is_the_customers_suitability_level() -> None:
    assert need_level(ProfileFacts(risk_level="C5")) == 5
    assert need_level(ProfileFacts(risk_level="C1")) == 1
    assert need_level(ProfileFacts()) == 3


def test_eligibility_respects_licence_region_and_the_active_flag() -> None:
    aggressive = ProfileFacts(risk_level="C5", region="shenzhen")
    assert not eligible(advisor("A1", licence=4), aggressive)
    assert eligible(advisor("A2", licence=5), aggressive)
    assert not eligible(advisor("A3", licence=5, region="beijing"), aggressive)
    assert not eligible(advisor("A4", licence=5, active=False), aggressive)
    assert eligible(advisor("A5", licence=5, region="beijing"), ProfileFacts(risk_level="C5"))  # region unknown


def test_the_least_loaded_advisor_with_room_comes_first() -> None:
    team = [
        advisor("BUSY", capacity=10, load=9),
        advisor("FULL", capacity=5, load=5),
        advisor("HALF", capacity=20, load=10),
        advisor("QUIET", capacity=100, load=10),
        advisor("FAR", region="beijing", load=0),
    ]
    assert candidates(team, ProfileFacts(region="shenzhen")) == ["QUIET", "HALF", "BUSY"]


def test_an_advisor_change_that_may_leave_customers_ineligible_is_recognised() -> None:
    before = advisor("ADV1", capacity=5, licence=4, load=3)
    assert not no_longer_suits(before, replace(before, capacity=2, load=3))  # capacity: nobody moves
    assert not no_longer_suits(before, replace(before, licence_level=5))
    assert no_longer_suits(before, replace(before, active=False))
    assert no_longer_suits(before, replace(before, region="beijing"))
    assert no_longer_suits(before, replace(before, licence_level=3))
    assert not no_longer_suits(replace(before, active=False), replace(before, active=False))
