"""What happened after a decision, over 7, 30 and 90 days: pure rules on plain data (docs/experiments.md).

A decision opens one window per length. Facts seen since (profile versions and scores, as routing
applies them) are folded into each window's running facts; folding is order-independent (the
earliest time after the decision, the latest state at or before the window's end), so facts of one
batch may be folded in any order. A window matures once the clock has passed its end plus a grace
period; its outcome is then final. A window belongs to the decision that opened it: a later decision
marks it `superseded_at` / `superseded_by` and it still matures (analysts choose whether to keep it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

import msgspec

from tierflow_routing.domain.facts import Assignment, CustomerState

WINDOW_DAYS: tuple[int, ...] = (7, 30, 90)
TIER_RANK = {"D": 0, "C": 1, "B": 2, "A": 3}
BAND_RANK = {"low": 0, "medium": 1, "high": 2}
DORMANT = "D"

BandMove = Literal["up", "down", "same"]


class Baseline(msgspec.Struct, frozen=True, kw_only=True):
    """The decision and what was true when it was made."""

    decision_id: str
    customer_id: str
    version: int
    decided_at: datetime
    flow: str
    tier: str
    churn_band: str | None = None
    experiment: Assignment | None = None
    # Activity before the decision (logins in 30 days, digital and branch, plus trades in 90 days): the
    # covariate that narrows experiment intervals (CUPED, domain/experiment_stats.py). None: not kept.
    pre_activity: int | None = None


class ProfileSeen(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of one profile version that outcomes use."""

    computed_at: datetime
    last_trade_at: datetime | None = None
    last_login_at: datetime | None = None
    closed: bool = False
    net_inflow_30d: Decimal = Decimal(0)
    net_inflow_90d: Decimal = Decimal(0)


class ScoreSeen(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of one score that outcomes use."""

    decided_at: datetime
    tier: str
    churn_band: str | None = None


class WindowFacts(msgspec.Struct, kw_only=True):
    """The running facts of one window: first moments after the decision, the latest state up to the end."""

    first_trade_at: datetime | None = None
    first_login_at: datetime | None = None
    closed_at: datetime | None = None
    dormant_at: datetime | None = None
    profile_as_of: datetime | None = None
    net_inflow_30d: Decimal | None = None
    net_inflow_90d: Decimal | None = None
    score_as_of: datetime | None = None
    tier: str | None = None
    churn_band: str | None = None


class Window(msgspec.Struct, kw_only=True):
    """One attribution window of one decision."""

    baseline: Baseline
    window_days: int
    due_at: datetime
    facts: WindowFacts
    superseded_at: datetime | None = None
    superseded_by: str | None = None


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """A matured window's outcome (tierflow.outcome.v1 states it)."""

    traded_again: bool
    logged_in: bool
    kept_or_regained_tier: bool
    became_dormant: bool
    closed: bool
    churn_band_moved: BandMove | None
    tier_at_end: str | None
    churn_band_at_end: str | None
    net_inflow: Decimal | None

    def true_names(self) -> list[str]:
        """The names of the outcomes that happened (the metric's `outcome` label values)."""
        names = [
            n
            for n in ("traded_again", "logged_in", "kept_or_regained_tier", "became_dormant", "closed")
            if getattr(self, n)
        ]
        if self.churn_band_moved in ("up", "down"):
            names.append(f"churn_band_{self.churn_band_moved}")
        return names


def baseline_of(state: CustomerState) -> Baseline | None:
    """The baseline of the customer's current route; None when it opens no windows (inactive, closed)."""
    route = state.route
    if route is None or not route.active:
        return None
    return Baseline(
        decision_id=route.decision_id,
        customer_id=state.customer_id,
        version=route.version,
        decided_at=route.decided_at,
        flow=route.flow,
        tier=state.score.tier or "C",
        churn_band=state.score.churn_band,
        experiment=route.experiment,
        pre_activity=pre_activity(state),
    )


def pre_activity(state: CustomerState) -> int:
    """What the customer did before the decision: logins in the last 30 days (digital and branch) and trades in
    the last 90, as the profile routing holds says."""
    p = state.profile
    return p.digital_logins_30d + p.branch_logins_30d + p.trades_90d


def profile_seen(state: CustomerState) -> ProfileSeen | None:
    """The profile facts routing holds, as outcomes fold them; None before the first profile."""
    p = state.profile
    if p.computed_at is None:
        return None
    return ProfileSeen(
        computed_at=p.computed_at,
        last_trade_at=p.last_trade_at,
        last_login_at=p.last_login_at,
        closed=p.closed,
        net_inflow_30d=p.net_inflow_30d,
        net_inflow_90d=p.net_inflow_90d,
    )


def score_seen(state: CustomerState) -> ScoreSeen | None:
    """The score routing holds, as outcomes fold it; None before the first score."""
    s = state.score
    if s.tier is None or s.decided_at is None:
        return None
    return ScoreSeen(decided_at=s.decided_at, tier=s.tier, churn_band=s.churn_band)


def open_windows(baseline: Baseline, profile: ProfileSeen | None, score: ScoreSeen | None) -> list[Window]:
    """One window per length, starting from what was known at the decision."""
    windows = []
    for days in WINDOW_DAYS:
        window = Window(
            baseline=baseline,
            window_days=days,
            due_at=baseline.decided_at + timedelta(days=days),
            facts=WindowFacts(tier=baseline.tier, churn_band=baseline.churn_band),
        )
        if profile is not None:
            _take_profile_state(window, profile)
        if score is not None:
            _take_score_state(window, score)
        windows.append(window)
    return windows


def _in_window(window: Window, moment: datetime | None) -> bool:
    return moment is not None and window.baseline.decided_at < moment <= window.due_at


def _earliest(held: datetime | None, moment: datetime) -> datetime:
    return moment if held is None or moment < held else held


def _take_profile_state(window: Window, seen: ProfileSeen) -> None:
    """The latest profile at or before the window's end is the end state (also the one at the decision)."""
    facts = window.facts
    if seen.computed_at <= window.due_at and (facts.profile_as_of is None or seen.computed_at > facts.profile_as_of):
        facts.profile_as_of = seen.computed_at
        facts.net_inflow_30d = seen.net_inflow_30d
        facts.net_inflow_90d = seen.net_inflow_90d


def _take_score_state(window: Window, seen: ScoreSeen) -> None:
    facts = window.facts
    if seen.decided_at <= window.due_at and (facts.score_as_of is None or seen.decided_at > facts.score_as_of):
        facts.score_as_of = seen.decided_at
        facts.tier = seen.tier
        facts.churn_band = seen.churn_band


def fold_profile(window: Window, seen: ProfileSeen) -> None:
    """Fold one profile version into a pending window (any order; late versions count until it matures)."""
    facts = window.facts
    # last_trade_at never moves back, so the smallest value after the decision is the first trade seen.
    if seen.last_trade_at is not None and seen.last_trade_at > window.baseline.decided_at:
        facts.first_trade_at = _earliest(facts.first_trade_at, seen.last_trade_at)
    if seen.last_login_at is not None and seen.last_login_at > window.baseline.decided_at:
        facts.first_login_at = _earliest(facts.first_login_at, seen.last_login_at)
    if seen.closed and seen.computed_at > window.baseline.decided_at:
        facts.closed_at = _earliest(facts.closed_at, seen.computed_at)
    _take_profile_state(window, seen)


def fold_score(window: Window, seen: ScoreSeen) -> None:
    """Fold one score into a pending window (any order)."""
    if seen.tier == DORMANT and window.baseline.tier != DORMANT and seen.decided_at > window.baseline.decided_at:
        window.facts.dormant_at = _earliest(window.facts.dormant_at, seen.decided_at)
    _take_score_state(window, seen)


def _after(moment: datetime | None, decided_at: datetime | None) -> bool:
    return moment is not None and decided_at is not None and moment > decided_at


def news_for_windows(
    before: ProfileSeen | ScoreSeen | None, after: ProfileSeen | ScoreSeen, decided_at: datetime | None
) -> bool:
    """Whether an event that turned `before` into `after` can change what a pending window keeps (`kept`), for a
    customer whose latest decision was made at `decided_at`. A trade (a login) cannot once one after the latest
    decision has been seen: every pending window belongs to that decision or an earlier one, so it holds its
    first trade already, or ended before it. Otherwise what counts is a changed figure: closure, net inflow,
    tier, churn band. The windows of customers whose events are no news are neither read nor written."""
    if before is None or type(before) is not type(after):
        return True
    if isinstance(after, ScoreSeen):
        assert isinstance(before, ScoreSeen)
        return (before.tier, before.churn_band) != (after.tier, after.churn_band)
    assert isinstance(before, ProfileSeen)
    traded = after.last_trade_at != before.last_trade_at and not _after(before.last_trade_at, decided_at)
    logged_in = after.last_login_at != before.last_login_at and not _after(before.last_login_at, decided_at)
    figures = (before.closed, before.net_inflow_30d, before.net_inflow_90d) != (
        after.closed,
        after.net_inflow_30d,
        after.net_inflow_90d,
    )
    return traded or logged_in or figures


def kept(window: Window) -> tuple[object, ...]:
    """What a stored window must keep: the facts an outcome is made of and its supersession. When and from which
    version the end state was taken (`profile_as_of`, `score_as_of`) is bookkeeping: a newer profile or score
    that changes none of the figures need not be written (a customer's versions arrive in order)."""
    f = window.facts
    return (
        f.first_trade_at,
        f.first_login_at,
        f.closed_at,
        f.dormant_at,
        f.net_inflow_30d,
        f.net_inflow_90d,
        f.tier,
        f.churn_band,
        window.superseded_at,
        window.superseded_by,
    )


def supersede(window: Window, *, decision_id: str, at: datetime) -> bool:
    """A later decision of the customer made before the window's end: record the first one; True when marked."""
    if window.superseded_at is not None or decision_id == window.baseline.decision_id:
        return False
    if not window.baseline.decided_at <= at < window.due_at:
        return False
    window.superseded_at, window.superseded_by = at, decision_id
    return True


def is_due(window: Window, *, now: datetime, grace: timedelta) -> bool:
    """The window has ended and the grace for late facts has passed."""
    return window.due_at + grace <= now


def _band_move(before: str | None, after: str | None) -> BandMove | None:
    if before is None or after is None:
        return None
    delta = BAND_RANK[after] - BAND_RANK[before]
    return "up" if delta > 0 else "down" if delta < 0 else "same"


def _kept_or_regained(before: str, after: str | None) -> bool:
    if after is None:
        return False
    if before == DORMANT:
        return after != DORMANT  # staying dormant keeps nothing; leaving D regains a live tier
    return TIER_RANK[after] >= TIER_RANK[before]


def outcome(window: Window) -> Outcome:
    """The outcome of a window from its facts (call once it is due)."""
    facts = window.facts
    net_inflow = {30: facts.net_inflow_30d, 90: facts.net_inflow_90d}.get(window.window_days)
    return Outcome(
        traded_again=_in_window(window, facts.first_trade_at),
        logged_in=_in_window(window, facts.first_login_at),
        kept_or_regained_tier=_kept_or_regained(window.baseline.tier, facts.tier),
        became_dormant=_in_window(window, facts.dormant_at),
        closed=_in_window(window, facts.closed_at),
        churn_band_moved=_band_move(window.baseline.churn_band, facts.churn_band),
        tier_at_end=facts.tier,
        churn_band_at_end=facts.churn_band,
        net_inflow=net_inflow,
    )
