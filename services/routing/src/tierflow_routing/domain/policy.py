"""The routing policy: ordered rules, the first match wins, a default rule is mandatory.

A YAML document validated by pydantic and versioned like the tier policy. Conditions in a rule's
`when` are AND-ed; a list means "any of these"; an empty `when` matches everyone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tierflow_common.events.outputs import AgeBand, ChurnBand, Flow, Priority, Tier
from tierflow_common.events.payloads import InvestorType, RiskLevel
from tierflow_common.yaml_documents import load_mapping


class RoutingPolicyError(ValueError):
    """The routing policy is invalid; the message lists every problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ConsentName = Literal["marketing_sms", "marketing_push", "marketing_email", "marketing_phone", "data_for_advice"]


class Conditions(Strict):
    tier: list[Tier] | None = None
    churn_band: list[ChurnBand] | None = None
    signals_any: list[str] | None = Field(default=None, description="At least one of these behavioural signals is on.")
    age_band: list[AgeBand] | None = None
    investor_type: list[InvestorType] | None = None
    risk_level: list[RiskLevel] | None = None
    region: list[str] | None = None
    digital_active: bool | None = Field(default=None, description="Uses app/web/mini program (see definitions).")
    community_engaged: bool | None = Field(default=None, description="Accepts community invitations (see definitions).")
    consents: dict[ConsentName, bool] | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())


class Outcome(Strict):
    flow: Flow
    priority: Priority = Priority.NORMAL
    reasons: list[str] = Field(default_factory=list)

    @field_validator("reasons")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        import re

        for code in codes:
            if not re.fullmatch(r"[a-z][A-Za-z0-9_]{0,63}", code):
                raise ValueError(f"reason code {code!r} must be snake_case")
        return codes


class Rule(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    description: str = ""
    when: Conditions = Conditions()
    then: Outcome


class Definitions(Strict):
    digital_active_min_logins_30d: int = Field(default=4, ge=1)
    community_engaged_min_accepted_90d: int = Field(default=1, ge=1)


class RoutingPolicy(Strict):
    version: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    description: str = ""
    definitions: Definitions = Definitions()
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_rule_last(self) -> RoutingPolicy:
        names = [r.name for r in self.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique: {duplicates}")
        if not self.rules[-1].when.is_empty():
            raise ValueError("the last rule must be the default: an empty `when` that matches everyone")
        for rule in self.rules[:-1]:
            if rule.when.is_empty():
                raise ValueError(f"rule {rule.name} matches everyone; only the last (default) rule may")
        return self


def parse_routing_policy(text: str, *, source: str = "<routing policy>") -> RoutingPolicy:
    """Validate a YAML document; RoutingPolicyError lists every problem with its location."""
    document = load_mapping(text, source=source, what="a routing policy", error=RoutingPolicyError)
    return routing_policy_from_document(document, source=source)


def routing_policy_from_document(document: object, *, source: str = "<routing policy>") -> RoutingPolicy:
    try:
        return RoutingPolicy.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<policy>'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise RoutingPolicyError(f"{source}: {problems}") from None


def load_routing_policy(path: Path) -> RoutingPolicy:
    return parse_routing_policy(path.read_text(), source=str(path))


DEFAULT_ROUTING_POLICY_FILE = Path(__file__).resolve().parents[1] / "policies" / "default.yaml"
