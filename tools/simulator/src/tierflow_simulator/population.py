"""Customer personas: a seeded population whose tier mix follows DOMAIN.md (few A, many C, some dormant)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class Segment(StrEnum):
    """Behavioural segments; the tier each one tends to land in is in the comment."""

    HIGH_NET_WORTH = "high_net_worth"  # A by assets
    ACTIVE_TRADER = "active_trader"  # B by commission, sometimes A
    AFFLUENT = "affluent"  # B by assets
    ORDINARY = "ordinary"  # C
    DIGITAL_YOUNG = "digital_young"  # C, app-heavy
    SENIOR_BRANCH = "senior_branch"  # C, prefers branch and phone
    DRIFTING = "drifting"  # C now, dormant within weeks
    DORMANT = "dormant"  # D


SEGMENT_WEIGHTS: dict[Segment, float] = {
    Segment.HIGH_NET_WORTH: 0.03,
    Segment.ACTIVE_TRADER: 0.03,
    Segment.AFFLUENT: 0.06,
    Segment.ORDINARY: 0.32,
    Segment.DIGITAL_YOUNG: 0.18,
    Segment.SENIOR_BRANCH: 0.08,
    Segment.DRIFTING: 0.08,
    Segment.DORMANT: 0.22,
}

# (median assets CNY, monthly trades, notional per trade CNY, monthly logins, monthly contacts)
BEHAVIOUR: dict[Segment, tuple[float, float, float, float, float]] = {
    Segment.HIGH_NET_WORTH: (18_000_000, 8, 800_000, 12, 2.0),
    Segment.ACTIVE_TRADER: (3_000_000, 40, 600_000, 40, 0.5),
    Segment.AFFLUENT: (7_000_000, 6, 250_000, 10, 1.0),
    Segment.ORDINARY: (150_000, 4, 20_000, 10, 0.3),
    Segment.DIGITAL_YOUNG: (60_000, 8, 8_000, 30, 0.1),
    Segment.SENIOR_BRANCH: (400_000, 2, 40_000, 2, 1.0),
    Segment.DRIFTING: (120_000, 3, 15_000, 6, 0.4),
    Segment.DORMANT: (90_000, 2, 15_000, 1, 0.2),
}

REGIONS = ("shenzhen", "shanghai", "beijing", "guangzhou", "hangzhou", "chengdu", "wuhan", "nanjing")
RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")


@dataclass(frozen=True, slots=True)
class Persona:
    """One synthetic customer and how they behave."""

    customer_id: str
    segment: Segment
    birth_year: int
    risk_level: str
    region: str
    consents: dict[str, bool]
    assets: Decimal
    monthly_trades: float
    notional_per_trade: float
    monthly_logins: float
    monthly_contacts: float
    first_seen_at: datetime
    active_until: datetime
    institutional: bool

    @property
    def activity_weight(self) -> float:
        """Events per month this persona tends to produce while active."""
        return self.monthly_trades + self.monthly_logins + self.monthly_contacts + 1.0


def _birth_year(segment: Segment, rng: random.Random, now: datetime) -> int:
    if segment is Segment.DIGITAL_YOUNG:
        age = rng.randint(20, 32)
    elif segment is Segment.SENIOR_BRANCH:
        age = rng.randint(60, 82)
    elif segment in (Segment.HIGH_NET_WORTH, Segment.AFFLUENT):
        age = rng.randint(38, 72)
    else:
        age = rng.randint(22, 70)
    return now.year - age


def make_population(count: int, *, seed: int, now: datetime, history_days: int = 365) -> list[Persona]:
    """A reproducible population of `count` customers seen during the last `history_days` days."""
    rng = random.Random(seed)
    segments = list(SEGMENT_WEIGHTS)
    weights = list(SEGMENT_WEIGHTS.values())
    people = []
    for n in range(count):
        segment = rng.choices(segments, weights)[0]
        median_assets, trades, notional, logins, contacts = BEHAVIOUR[segment]
        assets = median_assets * rng.lognormvariate(0, 0.35)
        if segment is Segment.HIGH_NET_WORTH:
            assets = max(assets, 10_500_000 * rng.uniform(1.0, 1.2))
        if segment is Segment.AFFLUENT:
            assets = min(max(assets, 5_200_000), 9_600_000)
        first_seen = now - timedelta(days=rng.uniform(0.2, 1.0) * history_days)
        if segment is Segment.DORMANT:
            first_seen = now - timedelta(days=history_days * rng.uniform(0.8, 1.0))
            active_until = now - timedelta(days=rng.uniform(100, history_days * 0.75))
        elif segment is Segment.DRIFTING:
            first_seen = now - timedelta(days=history_days * rng.uniform(0.6, 1.0))
            active_until = now - timedelta(days=rng.uniform(60, 88))
        else:
            active_until = now
        digital = segment in (Segment.DIGITAL_YOUNG, Segment.ACTIVE_TRADER)
        people.append(
            Persona(
                customer_id=f"C{n:07d}",
                segment=segment,
                birth_year=_birth_year(segment, rng, now),
                risk_level=rng.choice(RISK_LEVELS[2:] if digital else RISK_LEVELS[:4]),
                region=rng.choice(REGIONS),
                consents={
                    "marketing_sms": rng.random() < 0.6,
                    "marketing_push": rng.random() < (0.85 if digital else 0.5),
                    "marketing_email": rng.random() < 0.4,
                    "marketing_phone": rng.random() < (0.7 if segment is Segment.SENIOR_BRANCH else 0.3),
                    "data_for_advice": rng.random() < 0.75,
                },
                assets=Decimal(f"{assets:.2f}"),
                monthly_trades=trades * rng.uniform(0.5, 1.5),
                notional_per_trade=notional,
                monthly_logins=logins * rng.uniform(0.5, 1.5),
                monthly_contacts=contacts,
                first_seen_at=first_seen,
                active_until=max(active_until, first_seen + timedelta(days=1)),
                institutional=segment is Segment.HIGH_NET_WORTH and rng.random() < 0.1,
            )
        )
    return people
