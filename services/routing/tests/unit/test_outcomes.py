"""Outcomes of a decision over 7, 30 and 90 days: windows, folding facts in any order, supersession, closure."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec

from tierflow_routing.domain.facts import Assignment, CustomerState, ProfileFacts, Route, ScoreFacts
from tierflow_routing.domain.outcomes import (
    WINDOW_DAYS,
    Baseline,
    ProfileSeen,
    ScoreSeen,
    Window,
    baseline_of,
    fold_profile,
    fold_score,
    is_due,
    kept,
    news_for_windows,
    open_windows,
    outcome,
    supersede,
)

DECIDED = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
ARM = Assignment(experiment="robo-for-c", arm="robo", assignment_probability=0.25)


def day(n: float) -> datetime:
    return DECIDED + timedelta(days=n)


def baseline(tier: str = "C", band: str | None = "medium") -> Baseline:
    return Baseline(
        decision_id="d-1",
        customer_id="C1",
        version=1,
        decided_at=DECIDED,
        flow="community",
        tier=tier,
        churn_band=band,
        experiment=ARM,
    )


def profile(at: datetime, **fields: object) -> ProfileSeen:
    return ProfileSeen(computed_at=at, **fields)  # type: ignore[arg-type]


def windows(tier: str = "C", band: str | None = "medium", start: ProfileSeen | None = None) -> dict[int, Window]:
    opened = open_windows(baseline(tier, band), start or profile(day(-1), last_trade_at=day(-40)), None)
    return {w.window_days: w for w in opened}


def test_a_decision_opens_one_window_per_length_ending_that_many_days_later() -> None:
    opened = windows()
    assert sorted(opened) == list(WINDOW_DAYS) == [7, 30, 90]
    assert [opened[d].due_at for d in WINDOW_DAYS] == [day(7), day(30), day(90)]


def test_nothing_happening_is_an_outcome_too() -> None:
    result = outcome(windows()[30])
    assert result.true_names() == ["kept_or_regained_tier"]  # the tier at the end is the decision's own
    assert (result.traded_again, result.logged_in, result.closed, result.became_dormant) == (False,) * 4
    assert result.churn_band_moved == "same" and result.tier_at_end == "C"


def test_a_trade_counts_in_the_windows_it_falls_in_only() -> None:
    opened = windows()
    for window in opened.values():
        fold_profile(window, profile(day(10), last_trade_at=day(10)))
    assert [outcome(opened[d]).traded_again for d in WINDOW_DAYS] == [False, True, True]


def test_a_trade_before_the_decision_arriving_late_is_not_trading_again() -> None:
    opened = windows()
    for window in opened.values():
        fold_profile(window, profile(day(2), last_trade_at=DECIDED - timedelta(hours=1)))
    assert not any(outcome(w).traded_again for w in opened.values())


def test_a_late_trade_inside_the_window_counts_when_it_arrives_before_maturity() -> None:
    window = windows()[7]
    # The profile holding it is computed after the window's end (the trade arrived late), within the grace.
    fold_profile(window, profile(day(7.5), last_trade_at=day(6)))
    assert outcome(window).traded_again
    assert window.facts.profile_as_of == day(-1)  # the end state is not taken from after the end


def test_folding_is_independent_of_order() -> None:
    facts: list[ProfileSeen | ScoreSeen] = [
        profile(day(3), last_login_at=day(3)),
        profile(day(12), last_login_at=day(12), last_trade_at=day(12), net_inflow_30d=Decimal("500.00")),
        ScoreSeen(decided_at=day(20), tier="D", churn_band="high"),
        ScoreSeen(decided_at=day(40), tier="B", churn_band="low"),
        profile(day(95), last_trade_at=day(95), closed=True),
    ]
    results = set()
    for order in itertools.permutations(facts):
        opened = windows()
        for window in opened.values():
            for fact in order:
                (fold_profile if isinstance(fact, ProfileSeen) else fold_score)(window, fact)  # type: ignore[operator]
        results.add(tuple(msgspec.json.encode(outcome(opened[d])) for d in WINDOW_DAYS))
    assert len(results) == 1
    seven, thirty, ninety = (msgspec.json.decode(r) for r in results.pop())
    assert (seven["logged_in"], seven["traded_again"]) == (True, False)
    assert (thirty["traded_again"], thirty["became_dormant"], thirty["tier_at_end"]) == (True, True, "D")
    assert thirty["kept_or_regained_tier"] is False and thirty["churn_band_moved"] == "up"
    assert (ninety["tier_at_end"], ninety["kept_or_regained_tier"], ninety["churn_band_moved"]) == ("B", True, "down")
    assert ninety["became_dormant"] is True and ninety["closed"] is False  # closed on day 95: after the end


def test_net_inflow_is_the_profiles_figure_of_the_windows_length_at_its_end() -> None:
    opened = windows(start=profile(day(-1), net_inflow_30d=Decimal("-9.00"), net_inflow_90d=Decimal("1.00")))
    for window in opened.values():
        fold_profile(window, profile(day(29), net_inflow_30d=Decimal("1200.50"), net_inflow_90d=Decimal("800.25")))
        fold_profile(window, profile(day(31), net_inflow_30d=Decimal("7.00"), net_inflow_90d=Decimal("-3000.00")))
    assert outcome(opened[7]).net_inflow is None  # the profile states no 7-day figure
    assert outcome(opened[30]).net_inflow == Decimal("1200.50")
    assert outcome(opened[90]).net_inflow == Decimal("-3000.00")


def test_without_a_newer_profile_the_one_at_the_decision_states_the_end() -> None:
    opened = windows(start=profile(day(-1), net_inflow_30d=Decimal("42.00")))
    assert outcome(opened[30]).net_inflow == Decimal("42.00")


def test_closure_within_the_window() -> None:
    opened = windows()
    for window in opened.values():
        fold_profile(window, profile(day(8), closed=True))
    assert [outcome(opened[d]).closed for d in WINDOW_DAYS] == [False, True, True]


def test_a_dormant_decision_keeps_its_tier_only_by_leaving_dormancy_and_cannot_become_dormant() -> None:
    stayed = windows(tier="D")[30]
    fold_score(stayed, ScoreSeen(decided_at=day(5), tier="D", churn_band="high"))
    assert not outcome(stayed).kept_or_regained_tier and not outcome(stayed).became_dormant
    regained = windows(tier="D")[30]
    fold_score(regained, ScoreSeen(decided_at=day(5), tier="C", churn_band="medium"))
    assert outcome(regained).kept_or_regained_tier


def test_dropping_a_tier_and_regaining_it_within_the_window_counts_as_kept() -> None:
    window = windows(tier="B")[90]
    fold_score(window, ScoreSeen(decided_at=day(10), tier="C"))
    fold_score(window, ScoreSeen(decided_at=day(60), tier="B"))
    assert outcome(window).kept_or_regained_tier
    assert outcome(window).churn_band_moved is None  # the last score has no band: not comparable


def test_a_later_decision_marks_the_window_superseded_and_it_still_matures() -> None:
    opened = windows()
    marked = {d: supersede(w, decision_id="d-2", at=day(10)) for d, w in opened.items()}
    assert marked == {7: False, 30: True, 90: True}  # the 7-day window had ended already
    assert (opened[30].superseded_at, opened[30].superseded_by) == (day(10), "d-2")
    assert not supersede(opened[30], decision_id="d-3", at=day(20))  # the first supersession stays
    assert opened[30].superseded_by == "d-2"
    assert not supersede(opened[90], decision_id="d-1", at=day(20))  # its own decision is no supersession
    assert is_due(opened[30], now=day(30) + timedelta(hours=1), grace=timedelta(hours=1))


def test_a_window_is_due_once_its_end_and_the_grace_have_passed() -> None:
    window = windows()[7]
    assert not is_due(window, now=day(7), grace=timedelta(hours=6))
    assert not is_due(window, now=day(7.2), grace=timedelta(hours=6))
    assert is_due(window, now=day(7.25), grace=timedelta(hours=6))


def test_an_inactive_decision_opens_no_windows() -> None:
    route = Route(
        decision_id="d-1",
        version=1,
        flow="reactivation",
        priority="normal",
        active=False,
        rule="closed",
        reasons=[],
        policy_version="p",
        decided_at=DECIDED,
    )
    state = CustomerState(customer_id="C1", route=route, score=ScoreFacts(tier="C"), profile=ProfileFacts())
    assert baseline_of(state) is None
    active = msgspec.structs.replace(route, active=True, experiment=ARM)
    found = baseline_of(msgspec.structs.replace(state, route=active))
    assert found is not None and (found.tier, found.experiment, found.flow) == ("C", ARM, "reactivation")


def test_the_metric_names_are_the_true_outcomes_and_the_band_direction() -> None:
    window = windows()[90]
    fold_profile(window, profile(day(1), last_login_at=day(1)))
    fold_score(window, ScoreSeen(decided_at=day(2), tier="A", churn_band="low"))
    assert outcome(window).true_names() == ["logged_in", "kept_or_regained_tier", "churn_band_down"]


def test_only_news_for_an_outcome_needs_a_write() -> None:
    window = windows()[30]
    stored = kept(window)
    fold_profile(window, profile(day(2), last_login_at=day(2)))
    assert kept(window) != stored  # the first login after the decision
    stored = kept(window)
    fold_profile(window, profile(day(3), last_login_at=day(3)))  # another login: the first is kept
    fold_score(window, ScoreSeen(decided_at=day(3), tier="C", churn_band="medium"))  # the same tier and band
    assert kept(window) == stored and window.facts.profile_as_of == day(3)  # only bookkeeping moved
    fold_profile(window, profile(day(4), last_login_at=day(3), net_inflow_30d=Decimal("1500.00")))
    assert kept(window) != stored  # money came in
    stored = kept(window)
    assert supersede(window, decision_id="d-2", at=day(5)) and kept(window) != stored


def test_a_second_trade_or_login_after_the_latest_decision_is_no_news_for_any_window() -> None:
    before = profile(day(2), last_trade_at=day(-40), last_login_at=day(1))
    login = profile(day(3), last_trade_at=day(-40), last_login_at=day(3))
    assert not news_for_windows(before, login, DECIDED)  # a login after the decision was seen already
    assert news_for_windows(profile(day(0), last_login_at=day(-2)), login, DECIDED)  # the first one since
    trade = profile(day(3), last_trade_at=day(3), last_login_at=day(1))
    assert news_for_windows(before, trade, DECIDED)  # the first trade since the decision
    assert not news_for_windows(trade, profile(day(4), last_trade_at=day(4), last_login_at=day(1)), DECIDED)
    money = profile(day(4), last_trade_at=day(-40), last_login_at=day(1), net_inflow_30d=Decimal("10.00"))
    assert news_for_windows(before, money, DECIDED)
    assert news_for_windows(before, profile(day(4), last_login_at=day(1), closed=True), DECIDED)
    assert news_for_windows(None, login, None)  # nothing known before: always news
    same = ScoreSeen(decided_at=day(3), tier="C", churn_band="medium")
    assert not news_for_windows(ScoreSeen(decided_at=day(1), tier="C", churn_band="medium"), same, DECIDED)
    assert news_for_windows(same, ScoreSeen(decided_at=day(4), tier="D", churn_band="medium"), DECIDED)


def test_skipping_what_is_no_news_keeps_every_window_as_folding_everything_would() -> None:
    """Over a stream of profiles, folding only the news gives the same kept facts as folding every one."""
    stream = [profile(day(n / 2), last_trade_at=day(max(-40, n // 5 - 3)), last_login_at=day(n / 3 - 1),
                      net_inflow_30d=Decimal(n // 7)) for n in range(0, 120)]  # fmt: skip
    everything, news = windows(), windows()
    prior = None
    for seen in stream:
        for window in everything.values():
            fold_profile(window, seen)
        if news_for_windows(prior, seen, DECIDED):
            for window in news.values():
                fold_profile(window, seen)
        prior = seen
    assert {d: kept(w) for d, w in news.items()} == {d: kept(w) for d, w in everything.items()}
