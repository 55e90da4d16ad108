"""The waitlist: ordered by value score x churn probability (arrival breaks ties), or by arrival; promotions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tierflow_routing.domain.advisors import Advisor
from tierflow_routing.domain.resources import WaitlistOrder
from tierflow_routing.domain.waitlist import Waiting, ordered, promotions, reason

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def waiting(
    customer_id: str, value: float, churn: float, minutes: int, *, tier: str = "A", region: str = "east"
) -> Waiting:
    return Waiting(customer_id, region, 3, tier, value, churn, T0 + timedelta(minutes=minutes))


QUEUE = [
    waiting("EARLY_LOW", 0.2, 0.3, 0),  # 0.06, waiting longest
    waiting("VALUABLE_LEAVING", 0.9, 0.8, 30),  # 0.72
    waiting("TIE_LATER", 0.6, 0.5, 20),  # 0.30
    waiting("TIE_EARLIER", 0.5, 0.6, 10),  # 0.30: arrival breaks the tie
    waiting("VALUABLE_STAYING", 0.95, 0.05, 5),  # 0.0475
]


def test_value_times_risk_puts_the_valuable_customer_about_to_leave_first() -> None:
    order = [w.customer_id for w in ordered(QUEUE, WaitlistOrder.VALUE_TIMES_RISK)]
    assert order == ["VALUABLE_LEAVING", "TIE_EARLIER", "TIE_LATER", "EARLY_LOW", "VALUABLE_STAYING"]


def test_arrival_order_is_the_longest_waiting_first() -> None:
    order = [w.customer_id for w in ordered(QUEUE, WaitlistOrder.ARRIVAL)]
    assert order == ["EARLY_LOW", "VALUABLE_STAYING", "TIE_EARLIER", "TIE_LATER", "VALUABLE_LEAVING"]


def test_the_reason_names_the_figures_that_ranked_the_customer() -> None:
    assert reason(QUEUE[1], WaitlistOrder.VALUE_TIMES_RISK) == (
        "value score 0.900 x churn probability 0.800 = 0.7200; waiting since 2026-12-01 09:30:00Z "
        "(order: value_times_risk, arrival breaks ties)"
    )
    assert reason(QUEUE[0], WaitlistOrder.ARRIVAL) == "waiting since 2026-12-01 09:00:00Z (order: arrival)"


def test_free_places_go_down_the_queue_passing_over_whom_no_advisor_has_room_for() -> None:
    queue = ordered(
        [
            waiting("A_FIRST", 0.9, 0.9, 0),
            waiting("A_SECOND", 0.8, 0.9, 1),  # the A places are taken by then
            waiting("WEST", 0.8, 0.8, 2, tier="B", region="west"),  # nobody in the west
            waiting("B_ONE", 0.5, 0.5, 3, tier="B"),
            waiting("B_TWO", 0.4, 0.5, 4, tier="B"),
            waiting("B_THREE", 0.3, 0.5, 5, tier="B"),  # no place left
        ],
        WaitlistOrder.VALUE_TIMES_RISK,
    )
    team = [Advisor("E1", "east", 10, 5, 7, True, {"A": 2, "B": 3, "C": 2})]
    places = {"E1": {"A": 3, "B": 4, "C": 2, "D": 1}}  # A: one left; B: one left; D: one nobody waits for
    picked = promotions(queue, team, places, limit=3)
    assert [w.customer_id for w in picked] == ["A_FIRST", "B_ONE"]
    assert [w.customer_id for w in promotions(queue, team, places, limit=3, skip={"A_FIRST"})] == [
        "A_SECOND",  # A_FIRST was offered a place already (and not placed): the next A gets it
        "B_ONE",
    ]
