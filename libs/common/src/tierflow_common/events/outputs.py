"""Payloads the services publish to each other: profile, score, routing, notification."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from tierflow_common.events.payloads import (
    AssetClass,
    Consents,
    ContactOutcome,
    ContactReason,
    InvestorType,
    LoginChannel,
    Payload,
    RiskLevel,
    TradeChannel,
)
from tierflow_common.events.types import Money, OpaqueId


class Tier(StrEnum):
    A = "A"  # high-net-worth
    B = "B"  # potential
    C = "C"  # ordinary
    D = "D"  # dormant


class ChurnBand(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Flow(StrEnum):
    PRIVATE_ADVISOR = "private_advisor"
    ROBO_ADVISOR = "robo_advisor"
    COMMUNITY = "community"
    REACTIVATION = "reactivation"


class Priority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class AgeBand(StrEnum):
    UNDER_30 = "under_30"
    FROM_30_TO_44 = "30_44"
    FROM_45_TO_59 = "45_59"
    OVER_60 = "60_plus"


class Reason(Payload):
    """Why a decision came out as it did: a stable code, its weight, and a human sentence."""

    code: str = Field(pattern=r"^[a-z][A-Za-z0-9_]*$", max_length=64, examples=["assets_above_A_entry"])
    contribution: float | None = Field(default=None, description="Share of the decision this reason carries.")
    detail: str = Field(default="", max_length=300)


ReasonRow = tuple[str, float | None, str]
"""A `Reason` as services store it in their state documents: (code, contribution, detail)."""


class AssetsView(Payload):
    total_assets: Money | None = None
    cash: Money | None = None
    securities: Money | None = None
    wealth_products: Money | None = None
    liabilities: Money | None = None
    as_of: AwareDatetime | None = None
    total_assets_30d_ago: Money | None = Field(default=None, description="Latest snapshot on or before 30 days ago.")
    total_assets_90d_ago: Money | None = Field(default=None, description="Latest snapshot on or before 90 days ago.")
    net_inflow_30d: Money = Field(default=Decimal(0), description="Transfers in minus out over 30 days.")
    net_inflow_90d: Money = Field(default=Decimal(0), description="Transfers in minus out over 90 days.")


class AssetClassMix(Payload):
    trades: int = Field(ge=0)
    notional: Money


class TradingView(Payload):
    trades_total: int = Field(default=0, ge=0)
    notional_total: Money = Decimal(0)
    first_trade_at: AwareDatetime | None = None
    last_trade_at: AwareDatetime | None = None
    trades_30d: int = Field(default=0, ge=0)
    trades_90d: int = Field(default=0, ge=0)
    trades_365d: int = Field(default=0, ge=0)
    notional_30d: Money = Decimal(0)
    notional_90d: Money = Decimal(0)
    notional_365d: Money = Decimal(0)
    active_days_30d: int = Field(default=0, ge=0, description="Distinct business days with a trade.")
    active_days_90d: int = Field(default=0, ge=0)
    active_days_365d: int = Field(default=0, ge=0)
    asset_class_mix: dict[AssetClass, AssetClassMix] = Field(default_factory=dict, description="Lifetime.")
    channel_mix: dict[TradeChannel, int] = Field(default_factory=dict, description="Lifetime trades per channel.")


class ContributionView(Payload):
    commission_12m: Money = Field(description="Commission over the 365 business days ending today.")
    commission_ytd: Money = Decimal(0)
    commission_total: Money


class LoginChannelView(Payload):
    logins_7d: int = Field(default=0, ge=0)
    logins_30d: int = Field(default=0, ge=0)
    logins_90d: int = Field(default=0, ge=0)
    last_login_at: AwareDatetime | None = None


class EngagementView(Payload):
    logins_total: int = Field(default=0, ge=0)
    failed_logins_total: int = Field(default=0, ge=0)
    last_login_at: AwareDatetime | None = None
    days_since_last_login: int | None = Field(default=None, description="At computed_at; not a review trigger.")
    logins_7d: int = Field(default=0, ge=0)
    logins_30d: int = Field(default=0, ge=0)
    logins_90d: int = Field(default=0, ge=0)
    by_channel: dict[LoginChannel, LoginChannelView] = Field(default_factory=dict)
    contacts_total: int = Field(default=0, ge=0)
    last_contact_at: AwareDatetime | None = None
    contacts_90d: int = Field(default=0, ge=0)
    contacts_90d_by_reason: dict[ContactReason, int] = Field(default_factory=dict)
    contacts_90d_by_outcome: dict[ContactOutcome, int] = Field(default_factory=dict)
    complaints_total: int = Field(default=0, ge=0)
    complaints_open: int = Field(
        default=0, ge=0, description="Complaint contacts not resolved, after the latest resolved one."
    )
    complaints_resolved: int = Field(default=0, ge=0)
    last_nps: int | None = Field(default=None, ge=0, le=10)
    rolling_nps: float | None = Field(default=None, description="Mean of the five most recent NPS answers.")
    unanswered_outbound_streak: int = Field(
        default=0, ge=0, description="Outbound contacts unanswered in a row, up to now (capped at 64)."
    )


class RepeatTradingView(Payload):
    """BG/NBD inputs with daily periods: repeat trading days, last repeat and age, all in days."""

    x: int = Field(ge=0, description="Repeat trading days: distinct trading days after the first.")
    t_x: int = Field(ge=0, description="Days from the first to the last trading day.")
    T: int = Field(ge=0, description="Days from the first trading day to computed_at.")


class MasterView(Payload):
    investor_type: InvestorType | None = None
    age_band: AgeBand | None = Field(
        default=None, description="Life stage; the birth year never leaves the profile service."
    )
    risk_level: RiskLevel | None = None
    consents: Consents = Consents()
    timezone: str = "Asia/Shanghai"
    region: str | None = None
    closed: bool = False


class ProfileUpdatedPayload(Payload):
    """A customer's profile as of `computed_at`; `version` grows by one per change."""

    version: int = Field(ge=1)
    computed_at: AwareDatetime
    first_seen_at: AwareDatetime
    last_event_at: AwareDatetime
    next_review_at: AwareDatetime | None = None
    assets: AssetsView
    trading: TradingView
    contribution: ContributionView
    engagement: EngagementView
    repeat_trading: RepeatTradingView | None = Field(default=None, description="Null until the first trade.")
    master: MasterView


class PendingDemotion(Payload):
    """A demotion decided but held back by the minimum time in tier or the grace period."""

    tier: Tier
    cause: str = Field(pattern=r"^(outflow|market_movement|activity)$")
    since: AwareDatetime
    effective_at: AwareDatetime


class ScoreChangedPayload(Payload):
    """A new tier or churn band for a customer, with the reasons, the figures and the rule versions."""

    version: int = Field(ge=1, description="Per-customer score version; grows by one per published change.")
    profile_version: int = Field(ge=1)
    tier: Tier
    previous_tier: Tier | None = None
    tier_since: AwareDatetime
    value_score: float = Field(default=0.0, ge=0, le=1, description="Weighted value of the policy's dimensions.")
    p_alive: float | None = Field(default=None, ge=0, le=1, description="BG/NBD probability the customer is alive.")
    churn_score: float = Field(default=0.0, ge=0, le=1)
    churn_band: ChurnBand | None = None
    previous_churn_band: ChurnBand | None = None
    reasons: list[Reason] = Field(description="Why this tier; contributions add up to 1.")
    churn_reasons: list[Reason] = Field(
        default_factory=list, description="What makes up the churn score; contributions add up to it."
    )
    signals: list[str] = Field(default_factory=list, description="Behavioural risk signals that are on.")
    pending_demotion: PendingDemotion | None = None
    closed: bool = False
    policy_version: str
    model_version: str | None = None
    decided_at: AwareDatetime
    next_review_at: AwareDatetime | None = None
    caused_by: UUID | None = Field(
        default=None, description="event_id of the profile event behind it; null when time alone changed it."
    )


HOLDOUT_ARM = "holdout"
"""The arm of a customer in the routing policy's global holdout: no marketing outreach, service messages still go."""

PLAYBOOK_NAME = r"^[a-z][a-z0-9_]{0,63}$"
"""A named playbook variant: what a routing arm's `playbook` and notification's `variants` names match."""


class ExperimentAssignment(Payload):
    """The experiment arm a decision was made in (docs/experiments.md gives the assignment formula)."""

    experiment: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
        description="The experiment id, or the global holdout's id when `arm` is `holdout`.",
        examples=["robo-for-digital-c-2026q4"],
    )
    arm: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["treatment", HOLDOUT_ARM])
    assignment_probability: float = Field(
        gt=0,
        le=1,
        description="The chance of this arm for a customer in the experiment's population: the arm's share times the "
        "population share (not counting the global holdout); for `holdout`, the holdout share.",
    )
    # Left out when null, so a decision outside a playbook arm is the message consumers that predate the field
    # (which refuse unknown fields) already accept; only playbook arms need the upgraded consumer.
    playbook: str | None = Field(
        default=None,
        pattern=PLAYBOOK_NAME,
        description="The notification playbook variant the arm asks for (docs/experiments.md, playbook arms); "
        "null or absent: the flow's default playbook. Left out of the JSON when null.",
        examples=["reactivation_short"],
        exclude_if=lambda playbook: playbook is None,
    )


class RoutingDecidedPayload(Payload):
    """Where a customer goes now; supersedes the previous decision for the same customer."""

    decision_id: UUID
    version: int = Field(ge=1)
    flow: Flow
    advisor_id: OpaqueId | None = None
    priority: Priority
    tier: Tier
    churn_band: ChurnBand | None = None
    reasons: list[Reason]
    policy_version: str
    decided_at: AwareDatetime
    supersedes: UUID | None = None
    caused_by: UUID | None = Field(
        default=None,
        description="event_id of the score or profile event behind it; null for overrides, capacity freeing up, "
        "policy changes and override expiry.",
    )
    active: bool = Field(default=True, description="False for a closed account: no flow applies any more.")
    rule: str | None = Field(default=None, description="The routing-policy rule that matched (or staff_override).")
    experiment: ExperimentAssignment | None = Field(
        default=None,
        description="The experiment arm (or the global holdout) this decision was made in; null when none.",
    )


class NotificationChannel(StrEnum):
    LOG = "log"
    PUSH = "push"
    SMS = "sms"
    EMAIL = "email"
    ADVISOR_TASK = "advisor_task"
    WEBHOOK = "webhook"


class MessageClass(StrEnum):
    MARKETING = "marketing"
    SERVICE = "service"


class NotificationStatus(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class ConsentEvidence(Payload):
    """The consent a marketing decision relied on (no personal data: a purpose and a timestamp)."""

    purpose: str | None = Field(default=None, examples=["marketing_push"])
    granted: bool | None = None
    as_of: AwareDatetime | None = Field(default=None, description="occurred_at of the customer event it came from.")
    known: bool = Field(default=True, description="False when no customer event had been seen yet.")


class NotificationRecordedPayload(Payload):
    """One outreach attempt for a decision and what became of it."""

    notification_id: UUID
    decision_id: UUID
    flow: Flow
    channel: NotificationChannel
    message_class: MessageClass
    template: str = Field(pattern=r"^[a-z][a-z0-9_.]*$", max_length=64)
    status: NotificationStatus
    reason: str = Field(max_length=200)
    recorded_at: AwareDatetime
    step: str | None = Field(default=None, description="The playbook step.", examples=["day3_sms"])
    due_at: AwareDatetime | None = Field(default=None, description="Deferred: when it will be tried again.")
    consent: ConsentEvidence | None = None
