"""The routing policy: ordered rules, the first match wins, a default rule is mandatory.

A YAML document validated by pydantic and versioned like the tier policy. Conditions in a rule's
`when` are AND-ed; a list means "any of these"; an empty `when` matches everyone. Optional
`experiments` and a global `holdout` split customers into arms (domain/experiments.py assigns them;
docs/experiments.md). Optional `resources` (each tier's share of advisor places) and
`waitlist` (its order) are in domain/resources.py; left out, the defaults apply.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tierflow_common.events.outputs import HOLDOUT_ARM, PLAYBOOK_NAME, AgeBand, ChurnBand, Flow, Priority, Tier
from tierflow_common.events.payloads import InvestorType, RiskLevel
from tierflow_common.yaml_documents import load_mapping
from tierflow_routing.domain.resources import Resources, Waitlist

# Sections added after policies were first stored: left out of a stored document when not given, so a version
# stored before them compares equal when uploaded again (the registry compares documents).
OPTIONAL_SECTIONS = ("resources", "waitlist")


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


ExperimentId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Salt = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")]


class Population(Strict):
    """Who is in an experiment: customers whose matched rule is listed and/or whose conditions hold (both, when
    both are given), and of those the `share` drawn by the hash."""

    rules: list[str] | None = Field(default=None, min_length=1, description="Names of the rules that may match.")
    when: Conditions = Conditions()
    share: float = Field(default=1.0, gt=0, le=1, description="The part of the matching customers enrolled.")


class Arm(Strict):
    """One arm: its weight and what it changes in the rule's outcome (nothing, for a control arm)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    weight: int = Field(ge=1, le=1_000_000, description="Arms share the enrolled customers in proportion to weights.")
    flow: Flow | None = None
    priority: Priority | None = None
    playbook: str | None = Field(
        default=None,
        pattern=PLAYBOOK_NAME,
        description="A playbook variant of notification's playbook file for the decision's flow (none: the flow's "
        "default playbook); notification plays the default when the flow has no variant of that name.",
    )

    @field_validator("name")
    @classmethod
    def _not_holdout(cls, name: str) -> str:
        if name == HOLDOUT_ARM:
            raise ValueError(f"arm name {HOLDOUT_ARM!r} is reserved for the global holdout")
        return name


class Experiment(Strict):
    """An experiment: its population, its arms, the salt of its hash and when it runs."""

    id: ExperimentId
    description: str = ""
    salt: Salt
    population: Population = Population()
    arms: list[Arm] = Field(min_length=2)
    start: AwareDatetime | None = Field(default=None, description="Not assigned before (none: from activation).")
    end: AwareDatetime | None = Field(default=None, description="Not assigned from then on (none: until removed).")

    @model_validator(mode="after")
    def _arms_and_window(self) -> Experiment:
        names = [a.name for a in self.arms]
        if len(names) != len(set(names)):
            raise ValueError(f"experiment {self.id}: arm names must be unique: {names}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"experiment {self.id}: `end` must be after `start`")
        return self

    def running(self, at: datetime) -> bool:
        """Whether customers are assigned at `at`."""
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)


class Holdout(Strict):
    """The global control group: `share` of all customers, by the hash of `salt`, get no marketing outreach."""

    id: ExperimentId
    description: str = ""
    salt: Salt
    share: float = Field(gt=0, le=0.5, description="At most half: a holdout is a control group, not the programme.")


class RoutingPolicy(Strict):
    version: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    description: str = ""
    definitions: Definitions = Definitions()
    rules: list[Rule] = Field(min_length=1)
    holdout: Holdout | None = None
    experiments: list[Experiment] = Field(default_factory=list)
    resources: Resources | None = Field(default=None, description="Shares of scarce capacity (none: defaults).")
    waitlist: Waitlist | None = Field(default=None, description="The waitlist order (none: value_times_risk).")

    def resources_in_force(self) -> Resources:
        """The `resources` section, or its defaults (30/40/20/10, lending unused shares)."""
        return self.resources or Resources()

    def waitlist_in_force(self) -> Waitlist:
        """The `waitlist` section, or its default (value score x churn probability)."""
        return self.waitlist or Waitlist()

    def document(self) -> dict[str, object]:
        """As stored: the JSON form, without the optional sections that were not given."""
        dumped = self.model_dump(mode="json")
        return {k: v for k, v in dumped.items() if not (k in OPTIONAL_SECTIONS and v is None)}

    def document_in_force(self) -> dict[str, object]:
        """As shown: the JSON form with every optional section filled in as it applies."""
        dumped = self.model_dump(mode="json")
        dumped["resources"] = self.resources_in_force().model_dump(mode="json")
        dumped["waitlist"] = self.waitlist_in_force().model_dump(mode="json")
        return dumped

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
        self._check_experiments(set(names))
        return self

    def _check_experiments(self, rule_names: set[str]) -> None:
        ids = [e.id for e in self.experiments] + ([self.holdout.id] if self.holdout else [])
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"experiment and holdout ids must be unique: {duplicates}")
        salts = [e.salt for e in self.experiments] + ([self.holdout.salt] if self.holdout else [])
        if len(salts) != len(set(salts)):
            raise ValueError("every experiment and the holdout need their own salt (a shared salt correlates arms)")
        for experiment in self.experiments:
            unknown = sorted(set(experiment.population.rules or ()) - rule_names)
            if unknown:
                raise ValueError(f"experiment {experiment.id}: population names unknown rules {unknown}")


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
