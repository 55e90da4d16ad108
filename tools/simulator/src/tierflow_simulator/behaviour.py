"""The behavioural model: each customer's churn hazard from the signals the sources name, and what a flow
truly does to return and retention. Pure given the seed: the ground truth the experiment statistics are
checked against (docs/experiments.md, "Ground truth").

Per customer, at the decision (`now`), with its own random source seeded by `(seed, customer_id)` so a
customer draws the same numbers whatever the flow (common random numbers: an effect only moves thresholds):

- **signals** (`Signals`): falling activity (the last 30 days over the 30 before), the login gap, net outflow
  over assets, open complaints, a detractor NPS (0-6) and silence (days without any event), drawn around
  the persona's segment and its `active_until`; a latent engagement that drives both the **pre-period
  activity** (logins and trades in the 30 days before the decision: CUPED's covariate) and the return;
- **churn hazard** over the horizon: `h = sigmoid(-4.4 + 1.2·falling + 0.5·ln(1 + gap/30)
  + 2.0·outflow + 0.6·complaints + 0.7·detractor + 0.4·ln(1 + silence/30))`;
- **return** (trades or logs in again within the horizon, 30 days):
  `p_return = (1 - h) · sigmoid(-2.2 + 1.3·ln(1 + pre_activity) + 0.5·engagement) + effect.return_points/100`;
- **retention** (still holds assets at the end of the horizon): `p_retain = 1 - h + effect.retention_points/100`;

both clipped to [0, 1] (clipping would shrink an effect, so effects are meant for rates away from 0 and 1).
The holdout and customers with no flow get no effect (no outreach).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from tierflow_simulator.population import Persona, Segment

FLOWS = ("private_advisor", "robo_advisor", "community", "reactivation")


class EffectsError(ValueError):
    """The effects file is not valid (the message says where)."""


@dataclass(frozen=True, slots=True)
class FlowEffect:
    """A flow's true effect, in percentage points added to the probability (8.0: eight points)."""

    return_points: float = 0.0
    retention_points: float = 0.0


@dataclass(frozen=True, slots=True)
class HoldoutCopy:
    """The routing policy's holdout (its salt and share), so the simulator knows who gets no outreach."""

    salt: str
    share: float


@dataclass(frozen=True, slots=True)
class Effects:
    """The true effects by flow, the horizon they apply over, and (optionally) the holdout to recompute."""

    flows: Mapping[str, FlowEffect] = field(default_factory=dict)
    horizon_days: int = 30
    holdout: HoldoutCopy | None = None

    def of(self, flow: str | None) -> FlowEffect:
        """The effect of `flow`; None (the holdout, no outreach) and unnamed flows have none."""
        return self.flows.get(flow, FlowEffect()) if flow is not None else FlowEffect()


def effects_from_document(document: Any) -> Effects:
    """Effects from a parsed effects file (see tools/simulator/effects/example.yaml)."""
    if not isinstance(document, dict):
        raise EffectsError("an effects file is a mapping with `effects:`")
    unknown = set(document) - {"version", "horizon_days", "effects", "holdout"}
    if unknown:
        raise EffectsError(f"unknown keys: {sorted(unknown)}")
    horizon = document.get("horizon_days", 30)
    if not isinstance(horizon, int) or not 1 <= horizon <= 365:
        raise EffectsError(f"horizon_days is a whole number of days in 1..365, not {horizon!r}")
    flows: dict[str, FlowEffect] = {}
    for flow, effect in (document.get("effects") or {}).items():
        if flow not in FLOWS:
            raise EffectsError(f"effects.{flow}: unknown flow (one of {', '.join(FLOWS)})")
        if not isinstance(effect, dict) or set(effect) - {"return", "retention"}:
            raise EffectsError(f"effects.{flow}: a mapping with `return` and/or `retention` (points)")
        points = {k: effect.get(k, 0.0) for k in ("return", "retention")}
        for key, value in points.items():
            if not isinstance(value, int | float) or not -100 <= value <= 100:
                raise EffectsError(f"effects.{flow}.{key}: percentage points in -100..100, not {value!r}")
        flows[flow] = FlowEffect(float(points["return"]), float(points["retention"]))
    holdout = document.get("holdout")
    copy = None
    if holdout is not None:
        if not isinstance(holdout, dict) or not isinstance(holdout.get("salt"), str):
            raise EffectsError("holdout: a mapping with the policy's `salt` and `share`")
        share = holdout.get("share")
        if not isinstance(share, int | float) or not 0 < share <= 0.5:
            raise EffectsError(f"holdout.share: 0 < share <= 0.5, not {share!r}")
        copy = HoldoutCopy(holdout["salt"], float(share))
    return Effects(flows, horizon, copy)


def load_effects(path: Path) -> Effects:
    """Read and validate an effects file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise EffectsError(f"{path}: {error}") from error
    return effects_from_document(document)


@dataclass(frozen=True, slots=True)
class Signals:
    """The churn signals of one customer at the decision."""

    activity_ratio: float
    """activity in the last 30 days over the 30 days before (below 1: falling)"""
    login_gap_days: float
    net_outflow_share: float
    """net transfers out over the last 90 days, over assets (0..1)"""
    open_complaints: int
    detractor: bool
    silent_days: float
    engagement: float
    """latent, standard normal: what makes a customer both active before and likely to return"""
    pre_activity: int
    """logins and trades in the 30 days before the decision"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a customer truly did over the horizon after the decision."""

    customer_id: str
    flow: str | None
    signals: Signals
    churn_hazard: float
    p_return: float
    returned: bool
    retained: bool
    draw: float
    """the uniform that decided `returned` (the live stream uses it to time the return)"""


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; means here are small."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def customer_rng(seed: int, customer_id: str) -> random.Random:
    """The customer's own random source (str seeds are hashed with SHA-512: stable across runs)."""
    return random.Random(f"{seed}:{customer_id}")


def signals_of(persona: Persona, now: datetime, rng: random.Random) -> Signals:
    """The customer's signals at `now`, drawn around their segment and the day they went quiet."""
    silent = max(0.0, (now - persona.active_until).total_seconds() / 86400)
    quiet = persona.segment in (Segment.DORMANT, Segment.DRIFTING) or silent > 30
    engagement = rng.gauss(0.0, 1.0)
    residual = math.exp(-silent / 180)  # long silence leaves little activity
    pre_mean = (persona.monthly_logins * 0.6 + persona.monthly_trades * 0.4) * residual * math.exp(0.8 * engagement)
    return Signals(
        activity_ratio=rng.uniform(0.0, 0.6) if quiet else rng.uniform(0.7, 1.4),
        login_gap_days=silent + rng.expovariate(30 / max(0.5, persona.monthly_logins)),
        net_outflow_share=min(1.0, rng.betavariate(1.2, 8.0 if quiet else 20.0)),
        open_complaints=_poisson(rng, 0.25 if quiet else 0.05),
        detractor=rng.random() < (0.35 if quiet else 0.15),
        silent_days=silent,
        engagement=engagement,
        pre_activity=_poisson(rng, min(pre_mean, 60.0)),
    )


def churn_hazard(signals: Signals) -> float:
    """The probability of leaving within the horizon (module docstring for the weights)."""
    falling = max(0.0, 1.0 - min(signals.activity_ratio, 1.0))
    score = (
        -4.4
        + 1.2 * falling
        + 0.5 * math.log1p(signals.login_gap_days / 30)
        + 2.0 * signals.net_outflow_share
        + 0.6 * signals.open_complaints
        + 0.7 * signals.detractor
        + 0.4 * math.log1p(signals.silent_days / 30)
    )
    return _sigmoid(score)


def draw_outcome(persona: Persona, flow: str | None, effects: Effects, *, now: datetime, seed: int) -> Outcome:
    """The customer's true return and retention after a decision putting them in `flow` (None: no outreach)."""
    rng = customer_rng(seed, persona.customer_id)
    signals = signals_of(persona, now, rng)
    hazard = churn_hazard(signals)
    effect = effects.of(flow)
    base = (1 - hazard) * _sigmoid(-2.2 + 1.3 * math.log1p(signals.pre_activity) + 0.5 * signals.engagement)
    p_return = min(1.0, max(0.0, base + effect.return_points / 100))
    p_retain = min(1.0, max(0.0, 1 - hazard + effect.retention_points / 100))
    draw = rng.random()
    return Outcome(
        customer_id=persona.customer_id,
        flow=flow,
        signals=signals,
        churn_hazard=hazard,
        p_return=p_return,
        returned=draw < p_return,
        retained=rng.random() < p_retain,
        draw=draw,
    )


def draw_outcomes(
    population: Iterable[Persona],
    flow_of: Callable[[Persona], str | None],
    effects: Effects,
    *,
    now: datetime,
    seed: int,
) -> list[Outcome]:
    """Every customer's outcome, with `flow_of` saying which flow the routing decision put them in."""
    return [draw_outcome(p, flow_of(p), effects, now=now, seed=seed) for p in population]


def held_out(holdout: HoldoutCopy, customer_id: str) -> bool:
    """The routing service's holdout rule, recomputed (docs/experiments.md, "The formula")."""
    digest = hashlib.sha256(f"{holdout.salt}:{customer_id}".encode()).digest()
    return Fraction(int.from_bytes(digest[:8], "big"), 2**64) < Fraction(repr(holdout.share))


def assumed_flow(persona: Persona, effects: Effects) -> str | None:
    """The decision the live stream assumes for a dormant customer: the default policy's reactivation flow,
    or no outreach when the effects file's copy of the holdout holds them out."""
    if effects.holdout is not None and held_out(effects.holdout, persona.customer_id):
        return None
    return "reactivation"
