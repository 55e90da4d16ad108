"""What routing knows about a customer: facts from the profile, the score, and its current route."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from tierflow_common.events.outputs import ExperimentAssignment, ReasonRow


class ProfileFacts(msgspec.Struct, array_like=True, gc=False):
    """The profile figures routing conditions and the customer view use."""

    profile_version: int = 0
    age_band: str | None = None
    investor_type: str | None = None
    risk_level: str | None = None
    region: str | None = None
    consents: dict[str, bool] = {}
    closed: bool = False
    digital_logins_30d: int = 0
    branch_logins_30d: int = 0
    community_accepted_90d: int = 0
    total_assets: Decimal | None = None
    commission_12m: Decimal = Decimal(0)
    trades_90d: int = 0
    last_trade_at: datetime | None = None
    last_login_at: datetime | None = None
    computed_at: datetime | None = None
    net_inflow_30d: Decimal = Decimal(0)  # appended (array_like): states stored before read as zero
    net_inflow_90d: Decimal = Decimal(0)
    # Appended (array_like) for the advisor scorecard: states stored before read as unknown until the next profile.
    total_assets_90d_ago: Decimal | None = None
    last_nps: int | None = None


class ScoreFacts(msgspec.Struct, array_like=True, gc=False):
    """The latest score event's figures."""

    score_version: int = 0
    tier: str | None = None
    churn_band: str | None = None
    churn_score: float = 0.0
    p_alive: float | None = None
    value_score: float = 0.0
    signals: list[str] = []
    reasons: list[ReasonRow] = []
    churn_reasons: list[ReasonRow] = []
    policy_version: str | None = None
    model_version: str | None = None
    decided_at: datetime | None = None
    event_id: str | None = None


class PolicyFacts(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """What the routing policy read for a decision (rules, experiment populations), kept with the decision so a
    candidate policy can be evaluated on it later (domain/backtest.py). A field a new condition reads is appended
    here (array_like: rows stored before read it as its default)."""

    profile_version: int
    score_version: int
    tier: str | None
    churn_band: str | None
    signals: list[str]
    age_band: str | None
    investor_type: str | None
    risk_level: str | None
    region: str | None
    consents: dict[str, bool]
    closed: bool
    digital_logins_30d: int
    community_accepted_90d: int

    @classmethod
    def of(cls, profile: ProfileFacts, score: ScoreFacts) -> PolicyFacts:
        """The facts a decision on `profile` and `score` was made on."""
        return cls(
            profile.profile_version,
            score.score_version,
            score.tier,
            score.churn_band,
            score.signals,
            profile.age_band,
            profile.investor_type,
            profile.risk_level,
            profile.region,
            profile.consents,
            profile.closed,
            profile.digital_logins_30d,
            profile.community_accepted_90d,
        )

    def profile(self) -> ProfileFacts:
        """As the profile facts the policy's conditions read (the other figures at their defaults)."""
        return ProfileFacts(
            profile_version=self.profile_version,
            age_band=self.age_band,
            investor_type=self.investor_type,
            risk_level=self.risk_level,
            region=self.region,
            consents=self.consents,
            closed=self.closed,
            digital_logins_30d=self.digital_logins_30d,
            community_accepted_90d=self.community_accepted_90d,
        )

    def score(self) -> ScoreFacts:
        """As the score facts the policy's conditions read."""
        return ScoreFacts(
            score_version=self.score_version, tier=self.tier, churn_band=self.churn_band, signals=self.signals
        )


class Override(msgspec.Struct, array_like=True, gc=False):
    """A staff decision that takes precedence over the policy until it expires."""

    flow: str
    priority: str
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    advisor_id: str | None = None


class Assignment(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """The experiment arm (or the global holdout) a decision was made in (domain/experiments.py)."""

    experiment: str
    arm: str
    assignment_probability: float
    playbook: str | None = None  # appended (array_like): assignments stored before read as no playbook

    def contract(self) -> ExperimentAssignment:
        """As tierflow.routing.v1 and the API state it."""
        return ExperimentAssignment(
            experiment=self.experiment,
            arm=self.arm,
            assignment_probability=self.assignment_probability,
            playbook=self.playbook,
        )


class Route(msgspec.Struct, array_like=True, gc=False):
    """The current routing decision."""

    decision_id: str
    version: int
    flow: str
    priority: str
    active: bool
    rule: str
    reasons: list[ReasonRow]
    policy_version: str
    decided_at: datetime
    advisor_id: str | None = None
    supersedes: str | None = None
    caused_by: str | None = None
    experiment: Assignment | None = None


class CustomerState(msgspec.Struct, array_like=True):
    """Everything routing stores per customer."""

    customer_id: str
    profile: ProfileFacts = msgspec.field(default_factory=ProfileFacts)
    score: ScoreFacts = msgspec.field(default_factory=ScoreFacts)
    route: Route | None = None
    override: Override | None = None
    waitlisted_since: datetime | None = None
    evaluated_at: datetime | None = None
    evaluated_policy: str | None = None  # the policy version of that evaluation, even when nothing changed
    experiment_review_at: datetime | None = None  # the next start or end of an experiment after that evaluation
    # The tier the advisor place held is counted under (domain/shares.py). Appended (array_like): a state stored
    # before holds its place under the tier it had then (handlers.take_score fills it in before a tier change).
    advisor_tier: str | None = None
