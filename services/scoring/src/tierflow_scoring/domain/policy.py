"""The tier and churn policy: a versioned YAML document, validated before it can be used.

Every threshold a firm may want to change lives here, none in code. `load_policy` refuses a
document with a precise error (which field, which rule) and never returns half a policy.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tierflow_common.events.outputs import Tier
from tierflow_common.yaml_documents import load_mapping


class PolicyError(ValueError):
    """The policy document is invalid; the message lists every problem."""


class Dimension(StrEnum):
    """The three measured dimensions of a customer's value (DOMAIN.md)."""

    ASSET_SCALE = "asset_scale"
    TRADING_ACTIVITY = "trading_activity"
    CONTRIBUTION = "contribution"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DimensionSpec(Strict):
    """Which profile figure measures a dimension, and how it enters the weighted value score."""

    source: Literal["total_assets", "trades_90d", "active_days_90d", "notional_365d", "commission_12m"]
    scale: Decimal = Field(gt=0, description="The figure that counts as a full score of 1 on this dimension.")
    weight: float = Field(ge=0, le=1)


class Thresholds(Strict):
    """Lower bounds; a customer meets the set when ANY bound given is met (or the value score is)."""

    asset_scale: Decimal | None = Field(default=None, ge=0)
    trading_activity: Decimal | None = Field(default=None, ge=0)
    contribution: Decimal | None = Field(default=None, ge=0)
    value_score: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _not_empty(self) -> Thresholds:
        if all(v is None for v in (self.asset_scale, self.trading_activity, self.contribution, self.value_score)):
            raise ValueError("at least one threshold is required")
        return self

    def bounds(self) -> dict[str, Decimal | float]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class TierRule(Strict):
    """Entry and exit thresholds of one tier: enter at `enter`, leave only below `exit` (hysteresis)."""

    tier: Literal[Tier.A, Tier.B]
    enter: Thresholds
    exit: Thresholds

    @model_validator(mode="after")
    def _exit_not_above_entry(self) -> TierRule:
        enter, leave = self.enter.bounds(), self.exit.bounds()
        if enter.keys() != leave.keys():
            raise ValueError(f"tier {self.tier.value}: enter and exit must name the same thresholds")
        for name, bound in leave.items():
            if bound > enter[name]:
                raise ValueError(f"tier {self.tier.value}: exit {name} {bound} is above enter {enter[name]}")
        return self


class Dormancy(Strict):
    """No trade for this many days makes a customer dormant (tier D), whatever the assets."""

    no_trade_days: int = Field(default=90, ge=1)


class Hysteresis(Strict):
    """When a demotion may take effect. Promotions are always immediate."""

    min_days_in_tier: int = Field(default=30, ge=0, description="No demotion before this long in the tier.")
    outflow_grace_days: int = Field(default=7, ge=0, description="Wait after falling below exit, money leaving.")
    market_grace_days: int = Field(default=30, ge=0, description="Wait when assets fell with no net outflow.")
    outflow_share: float = Field(
        default=0.5, gt=0, le=1, description="A fall is money leaving when net outflow covers this share of it."
    )


class SignalWeights(Strict):
    """Weights of the churn score's terms; the score is their sum, capped at 1."""

    not_alive: float = Field(default=0.55, ge=0, le=1, description="Times (1 - P(alive)).")
    login_gap: float = Field(default=0.15, ge=0, le=1)
    net_outflow: float = Field(default=0.2, ge=0, le=1)
    complaint_open: float = Field(default=0.1, ge=0, le=1)
    complaints_repeated: float = Field(default=0.1, ge=0, le=1)
    nps_detractor: float = Field(default=0.1, ge=0, le=1)
    unanswered_outbound: float = Field(default=0.1, ge=0, le=1)
    trading_drop: float = Field(default=0.15, ge=0, le=1)


class SignalRules(Strict):
    """When each behavioural risk signal is on."""

    login_gap_days: int = Field(default=60, ge=1)
    net_outflow_share: float = Field(default=0.2, gt=0, le=1, description="Net outflow over 90 days vs assets then.")
    complaints_repeated_90d: int = Field(default=2, ge=2)
    nps_detractor_max: int = Field(default=6, ge=0, le=10)
    unanswered_outbound_min: int = Field(default=3, ge=1)
    trading_drop_ratio: float = Field(default=0.3, gt=0, lt=1, description="Last 30 days vs own monthly average.")
    trading_drop_min_monthly: float = Field(default=2.0, gt=0, description="Baseline needed to call it a drop.")


class ChurnBands(Strict):
    medium: float = Field(default=0.4, gt=0, lt=1)
    high: float = Field(default=0.7, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ChurnBands:
        if self.medium >= self.high:
            raise ValueError("medium must be below high")
        return self


class ChurnPolicy(Strict):
    weights: SignalWeights = SignalWeights()
    rules: SignalRules = SignalRules()
    bands: ChurnBands = ChurnBands()


class TierPolicy(Strict):
    """A complete, versioned policy."""

    version: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    description: str = ""
    compare: Literal["at_least", "more_than"] = "at_least"
    combine: Literal["any_threshold", "weighted_score"] = "any_threshold"
    dimensions: dict[Dimension, DimensionSpec]
    tiers: list[TierRule]
    dormancy: Dormancy = Dormancy()
    hysteresis: Hysteresis = Hysteresis()
    churn: ChurnPolicy = ChurnPolicy()

    @field_validator("tiers")
    @classmethod
    def _a_then_b(cls, tiers: list[TierRule]) -> list[TierRule]:
        if [t.tier for t in tiers] != [Tier.A, Tier.B]:
            raise ValueError("tiers must list A, then B (C is everyone else, D the dormant)")
        return tiers

    @model_validator(mode="after")
    def _consistent(self) -> TierPolicy:
        if set(self.dimensions) != set(Dimension):
            raise ValueError(f"dimensions must define {sorted(d.value for d in Dimension)}")
        if abs(sum(d.weight for d in self.dimensions.values()) - 1.0) > 1e-9:
            raise ValueError("dimension weights must add up to 1")
        a, b = self.tiers
        for name, bound in b.enter.bounds().items():
            above = a.enter.bounds().get(name)
            if above is not None and above < bound:
                raise ValueError(f"A's enter {name} {above} is below B's {bound}")
        uses_score = any("value_score" in t.enter.bounds() for t in self.tiers)
        if (self.combine == "weighted_score") != uses_score:
            raise ValueError("combine: weighted_score goes with value_score thresholds, and only with them")
        return self

    def rule(self, tier: Tier) -> TierRule | None:
        return next((r for r in self.tiers if r.tier is tier), None)


def parse_policy(text: str, *, source: str = "<policy>") -> TierPolicy:
    """Validate a YAML document; PolicyError lists every problem with its location."""
    document = load_mapping(text, source=source, what="a policy", error=PolicyError)
    try:
        return TierPolicy.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<policy>'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise PolicyError(f"{source}: {problems}") from None


def load_policy(path: Path) -> TierPolicy:
    """Read and validate a policy file."""
    return parse_policy(path.read_text(), source=str(path))


SHIPPED = Path(__file__).resolve().parents[1] / "policies"
DEFAULT_POLICY_FILE = SHIPPED / "default.yaml"
