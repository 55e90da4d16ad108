"""A population's past as an event stream in time order; and a live stream that keeps it moving."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from tierflow_simulator.behaviour import Effects, assumed_flow, draw_outcome
from tierflow_simulator.events import EventFactory, SimEvent
from tierflow_simulator.population import Persona, Segment

FIXED_EVENTS_PER_CUSTOMER = 3  # customer.updated, an opening balance and a recent balance


def _months_active(persona: Persona) -> float:
    return max(0.05, (persona.active_until - persona.first_seen_at).total_seconds() / (30 * 86400))


def _budgets(population: list[Persona], extra: int, rng: random.Random) -> list[int]:
    """Split `extra` events over customers by activity, exactly (largest remainder)."""
    weights = [p.activity_weight * _months_active(p) for p in population]
    total = sum(weights) or 1.0
    shares = [extra * w / total for w in weights]
    budgets = [int(s) for s in shares]
    leftover = extra - sum(budgets)
    order = sorted(range(len(population)), key=lambda i: (shares[i] - budgets[i], rng.random()), reverse=True)
    for i in order[:leftover]:
        budgets[i] += 1
    return budgets


def _at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.uniform(0, max(1.0, (end - start).total_seconds())))


def history(
    population: list[Persona],
    *,
    total_events: int,
    now: datetime,
    seed: int,
    duplicate_rate: float = 0.0,
    malformed_rate: float = 0.0,
) -> list[SimEvent]:
    """About `total_events` events (at least 3 per customer), sorted by event time.

    Duplicates (same event_id, same bytes) and malformed events come on top of the total.
    """
    rng = random.Random(seed * 7919 + 1)
    factory = EventFactory(rng)
    extra = max(0, total_events - FIXED_EVENTS_PER_CUSTOMER * len(population))
    events: list[SimEvent] = []
    for persona, budget in zip(population, _budgets(population, extra, rng), strict=True):
        opening = persona.assets * Decimal(str(round(rng.uniform(0.8, 1.0), 4)))
        events.append(factory.customer(persona, persona.first_seen_at))
        events.append(factory.balance(persona, persona.first_seen_at + timedelta(minutes=1), opening, opening))
        recent = now - timedelta(hours=rng.uniform(1, 72))
        events.append(factory.balance(persona, recent, persona.assets, persona.assets - opening))
        rates = (persona.monthly_trades, persona.monthly_logins, persona.monthly_contacts)
        kinds = rng.choices(("trade", "login", "contact"), rates, k=budget)
        for n, kind in enumerate(kinds):
            at = _at(rng, persona.first_seen_at + timedelta(minutes=2), persona.active_until)
            if n == 0 and persona.active_until >= now and persona.monthly_trades >= 1:
                # An active customer has traded lately: about one month's gap at most.
                gap_days = min(60.0, rng.expovariate(persona.monthly_trades / 30))
                at = max(persona.first_seen_at + timedelta(minutes=2), now - timedelta(days=gap_days))
                kind = "trade"
            if kind == "trade":
                events.append(factory.trade(persona, at))
            elif kind == "login":
                events.append(factory.login(persona, at))
            else:
                events.append(factory.contact(persona, at))
    if malformed_rate > 0:
        for _ in range(int(len(events) * malformed_rate)):
            persona = rng.choice(population)
            events.append(factory.malformed(persona, _at(rng, persona.first_seen_at, now)))
    events.sort(key=lambda e: e.occurred_at)
    if duplicate_rate > 0:
        with_copies: list[SimEvent] = []
        for event in events:
            with_copies.append(event)
            if rng.random() < duplicate_rate:
                with_copies.append(event)  # a producer retry: same event_id, same bytes
        events = with_copies
    return events


def comebacks(
    dormant: list[Persona], effects: Effects, *, start: datetime, seed: int
) -> list[tuple[datetime, str, Persona]]:
    """What the behavioural model says dormant customers do after a decision at `start` (flow by `assumed_flow`):
    a return (a login and a trade) or a departure (assets moved out), at a time within the horizon;
    latest first, so the stream pops the next one from the end."""
    horizon = timedelta(days=effects.horizon_days)
    plan: list[tuple[datetime, str, Persona]] = []
    for persona in dormant:
        outcome = draw_outcome(persona, assumed_flow(persona, effects), effects, now=start, seed=seed)
        if outcome.returned:
            # draw < p_return, so draw / p_return is uniform in [0, 1): a time spread over the horizon.
            plan.append((start + horizon * (outcome.draw / outcome.p_return), "return", persona))
        elif not outcome.retained:
            plan.append((start + horizon * (1 - outcome.churn_hazard) * outcome.draw, "leave", persona))
    plan.sort(key=lambda item: (item[0], item[2].customer_id), reverse=True)
    return plan


def live(
    population: list[Persona],
    *,
    seed: int,
    clock: Callable[[], datetime] | None = None,
    effects: Effects | None = None,
) -> Iterator[SimEvent]:
    """An endless stream at the current time: trades, logins and contacts by activity, plus asset moves.

    Some customers grow (a B crossing into A), some withdraw, and a few dormant ones come back: at random
    without `effects`; with them, as the behavioural model says (`comebacks`).
    """
    from datetime import UTC

    rng = random.Random(seed * 104729 + 3)
    factory = EventFactory(rng)
    now_fn = clock or (lambda: datetime.now(UTC))
    active = [p for p in population if p.segment not in (Segment.DORMANT, Segment.DRIFTING)]
    dormant = [p for p in population if p.segment is Segment.DORMANT]
    weights = [p.activity_weight for p in active]
    assets = {p.customer_id: p.assets for p in population}
    due = [] if effects is None else comebacks(dormant, effects, start=now_fn(), seed=seed)
    while True:
        now = now_fn()
        if due and due[-1][0] <= now:
            at, kind, persona = due.pop()
            if kind == "return":
                yield factory.login(persona, at)
                yield factory.trade(persona, at)
            else:  # leaves: moves everything out
                yield factory.balance(persona, at, Decimal("0"), -assets[persona.customer_id])
                assets[persona.customer_id] = Decimal("0")
            continue
        roll = rng.random()
        if roll < 0.01 and dormant and effects is None:
            persona = rng.choice(dormant)  # a dormant customer comes back and trades
            yield factory.login(persona, now)
            yield factory.trade(persona, now)
            continue
        persona = rng.choices(active, weights)[0]
        if roll < 0.08:
            before = assets[persona.customer_id]
            change = Decimal(str(round(rng.choice([rng.uniform(-0.12, 0.15), rng.uniform(0.3, 0.9)]), 4)))
            after = max(Decimal("0"), before * (1 + change))
            assets[persona.customer_id] = after
            inflow = (after - before) if rng.random() < 0.5 else Decimal("0")
            yield factory.balance(persona, now, after, inflow)
        else:
            kind = rng.choices(
                ("trade", "login", "contact"),
                (persona.monthly_trades, persona.monthly_logins, persona.monthly_contacts),
            )[0]
            yield getattr(factory, kind)(persona, now)
