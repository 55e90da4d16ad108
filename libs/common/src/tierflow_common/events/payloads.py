"""Payloads of the input events integrators produce (ARCHITECTURE.md, event contract)."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from tierflow_common.events.types import Money, NonNegativeMoney, OpaqueId, Quantity


class Payload(BaseModel):
    """Base of every payload: strict about unknown fields, immutable once parsed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AssetClass(StrEnum):
    EQUITY = "equity"
    ETF = "etf"
    FUND = "fund"
    BOND = "bond"
    OPTION = "option"
    FUTURE = "future"
    WEALTH_PRODUCT = "wealth_product"


class TradeSide(StrEnum):
    BUY = "buy"
    SELL = "sell"
    SUBSCRIBE = "subscribe"
    REDEEM = "redeem"


class TradeChannel(StrEnum):
    APP = "app"
    WEB = "web"
    BRANCH = "branch"
    PHONE = "phone"
    API = "api"


class LoginChannel(StrEnum):
    APP = "app"
    WEB = "web"
    MINI_PROGRAM = "mini_program"
    BRANCH_TERMINAL = "branch_terminal"


class ContactChannel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    APP_MESSAGE = "app_message"
    BRANCH = "branch"
    WECHAT = "wechat"
    VIDEO = "video"


class ContactDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ContactReason(StrEnum):
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    ADVISORY = "advisory"
    CAMPAIGN = "campaign"
    SURVEY = "survey"
    SERVICE = "service"


class ContactOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class InvestorType(StrEnum):
    INDIVIDUAL = "individual"
    INSTITUTIONAL = "institutional"


class RiskLevel(StrEnum):
    """Suitability level, C1 conservative .. C5 aggressive."""

    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    C4 = "C4"
    C5 = "C5"


class TradeExecutedPayload(Payload):
    trade_id: OpaqueId
    account_id: OpaqueId
    instrument: str = Field(min_length=1, max_length=32)
    market: str = Field(min_length=1, max_length=16)
    asset_class: AssetClass
    side: TradeSide
    quantity: Quantity
    price: NonNegativeMoney
    notional: NonNegativeMoney
    commission: NonNegativeMoney
    channel: TradeChannel


class LoginPayload(Payload):
    channel: LoginChannel
    device_id: str = Field(min_length=1, max_length=128, description="Hashed device identifier.")


class ContactLoggedPayload(Payload):
    channel: ContactChannel
    direction: ContactDirection
    reason: ContactReason
    outcome: ContactOutcome
    advisor_id: OpaqueId | None = None
    nps: int | None = Field(default=None, ge=0, le=10)


class BalanceSnapshotPayload(Payload):
    as_of: AwareDatetime
    total_assets: NonNegativeMoney
    cash: Money
    securities: NonNegativeMoney
    wealth_products: NonNegativeMoney
    liabilities: NonNegativeMoney
    net_inflow: Money = Field(description="Transfers in minus transfers out since the previous snapshot.")


class Consents(Payload):
    marketing_sms: bool = False
    marketing_push: bool = False
    marketing_email: bool = False
    marketing_phone: bool = False
    data_for_advice: bool = False


class CustomerUpdatedPayload(Payload):
    investor_type: InvestorType
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    risk_level: RiskLevel
    consents: Consents
    timezone: str = Field(default="Asia/Shanghai", min_length=1, max_length=64)
    region: str | None = Field(default=None, max_length=64)
    closed: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not an IANA time zone name such as Asia/Shanghai") from exc
        return value
