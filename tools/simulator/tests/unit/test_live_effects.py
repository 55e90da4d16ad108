"""`tierflow simulate --effects`: the live stream without effects is byte for byte what it was; with them,
dormant customers come back as the behavioural model says, and the held-out ones get no effect."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tierflow_routing.domain.experiments import holdout_assignment
from tierflow_routing.domain.policy import Holdout
from tierflow_simulator.behaviour import (
    Effects,
    EffectsError,
    FlowEffect,
    HoldoutCopy,
    effects_from_document,
    held_out,
    load_effects,
)
from tierflow_simulator.history import live
from tierflow_simulator.population import Segment, make_population

NOW = datetime(2027, 3, 1, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "effects" / "example.yaml"


def ticking(step: timedelta) -> Callable[[], datetime]:
    ticks = itertools.count()
    return lambda: NOW + step * next(ticks)


def test_without_effects_the_live_stream_is_unchanged() -> None:
    population = make_population(300, seed=5, now=NOW)
    digest = hashlib.sha256()
    for event in itertools.islice(live(population, seed=5, clock=ticking(timedelta(minutes=1))), 2000):
        digest.update(event.value)
    # Recorded from the stream before the behavioural model existed (commit d5b8d92).
    assert digest.hexdigest() == "a01d02b38e99c35b117a857caff234d0acf2902770b5ff774f97123e2bdbf100"


def returned_within_horizon(effects: Effects) -> set[str]:
    """Dormant customers who trade in the first 30 days of a live stream at one hour per step."""
    population = make_population(3000, seed=8, now=NOW)
    dormant = {p.customer_id for p in population if p.segment is Segment.DORMANT}
    back: set[str] = set()
    for event in live(population, seed=8, clock=ticking(timedelta(hours=1)), effects=effects):
        body = orjson.loads(event.value)
        if datetime.fromisoformat(body["occurred_at"]) > NOW + timedelta(days=30):
            break
        if body["event_type"] == "trade.executed" and body["customer_id"] in dormant:
            back.add(body["customer_id"])
    return back


def test_effects_bring_back_the_reached_and_not_the_held_out() -> None:
    holdout = HoldoutCopy(salt="live-holdout", share=0.5)
    none = returned_within_horizon(Effects({}, holdout=holdout))
    strong = returned_within_horizon(Effects({"reactivation": FlowEffect(return_points=40.0)}, holdout=holdout))
    reached_gain = {c for c in strong - none if not held_out(holdout, c)}
    assert len(reached_gain) > 80, (len(none), len(strong))
    assert all(not held_out(holdout, c) for c in strong - none)  # the held out are exactly as without effects
    assert {c for c in strong if held_out(holdout, c)} == {c for c in none if held_out(holdout, c)}


def test_the_simulators_holdout_is_the_routing_services() -> None:
    copy = HoldoutCopy(salt="programme-holdout-2027", share=0.1)
    policy = Holdout(id="programme-holdout-2027", salt=copy.salt, share=copy.share)
    ids = [f"C{n:07d}" for n in range(4000)]
    assert [held_out(copy, c) for c in ids] == [holdout_assignment(policy, c) is not None for c in ids]
    assert 300 < sum(held_out(copy, c) for c in ids) < 500


def test_the_effects_file_is_validated() -> None:
    assert load_effects(EXAMPLE).holdout == HoldoutCopy("programme-holdout-2027", 0.1)
    with pytest.raises(EffectsError, match="unknown flow"):
        effects_from_document({"effects": {"teleport": {"return": 1}}})
    with pytest.raises(EffectsError, match="percentage points"):
        effects_from_document({"effects": {"reactivation": {"return": "lots"}}})
    with pytest.raises(EffectsError, match=r"holdout\.share"):
        effects_from_document({"holdout": {"salt": "x", "share": 0.9}})
    with pytest.raises(EffectsError, match="unknown keys"):
        effects_from_document({"effect": {}})
