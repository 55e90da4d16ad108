"""The event envelope and one concrete model per event type; the contract's single source."""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from tierflow_common.events import topics
from tierflow_common.events.outcomes import OutcomeRecordedPayload
from tierflow_common.events.outputs import (
    NotificationRecordedPayload,
    ProfileUpdatedPayload,
    RoutingDecidedPayload,
    ScoreChangedPayload,
)
from tierflow_common.events.payloads import (
    BalanceSnapshotPayload,
    ContactLoggedPayload,
    CustomerUpdatedPayload,
    LoginPayload,
    TradeExecutedPayload,
)
from tierflow_common.events.types import CustomerId


class Envelope(BaseModel):
    """Fields every event carries; `event_id` is the deduplication key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(description="Unique per event; redeliveries keep it.")
    schema_version: Literal[1] = 1
    occurred_at: AwareDatetime = Field(description="Event time, RFC 3339 with an offset.")
    source: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$", examples=["core-trading"])
    customer_id: CustomerId


class TradeExecuted(Envelope):
    event_type: Literal["trade.executed"] = "trade.executed"
    payload: TradeExecutedPayload


class LoginSucceeded(Envelope):
    event_type: Literal["login.succeeded"] = "login.succeeded"
    payload: LoginPayload


class LoginFailed(Envelope):
    event_type: Literal["login.failed"] = "login.failed"
    payload: LoginPayload


class ContactLogged(Envelope):
    event_type: Literal["contact.logged"] = "contact.logged"
    payload: ContactLoggedPayload


class BalanceSnapshot(Envelope):
    event_type: Literal["balance.snapshot"] = "balance.snapshot"
    payload: BalanceSnapshotPayload


class CustomerUpdated(Envelope):
    event_type: Literal["customer.updated"] = "customer.updated"
    payload: CustomerUpdatedPayload


class ProfileUpdated(Envelope):
    event_type: Literal["profile.updated"] = "profile.updated"
    payload: ProfileUpdatedPayload


class ScoreChanged(Envelope):
    event_type: Literal["score.changed"] = "score.changed"
    payload: ScoreChangedPayload


class RoutingDecided(Envelope):
    event_type: Literal["routing.decided"] = "routing.decided"
    payload: RoutingDecidedPayload


class NotificationRecorded(Envelope):
    event_type: Literal["notification.recorded"] = "notification.recorded"
    payload: NotificationRecordedPayload


class OutcomeRecorded(Envelope):
    event_type: Literal["outcome.recorded"] = "outcome.recorded"
    payload: OutcomeRecordedPayload


InputEvent: TypeAlias = Annotated[
    TradeExecuted | LoginSucceeded | LoginFailed | ContactLogged | BalanceSnapshot | CustomerUpdated,
    Field(discriminator="event_type"),
]
Event: TypeAlias = Annotated[
    TradeExecuted
    | LoginSucceeded
    | LoginFailed
    | ContactLogged
    | BalanceSnapshot
    | CustomerUpdated
    | ProfileUpdated
    | ScoreChanged
    | RoutingDecided
    | NotificationRecorded
    | OutcomeRecorded,
    Field(discriminator="event_type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

EVENT_TOPIC: dict[str, str] = {
    "trade.executed": topics.TRADE,
    "login.succeeded": topics.LOGIN,
    "login.failed": topics.LOGIN,
    "contact.logged": topics.CONTACT,
    "balance.snapshot": topics.BALANCE,
    "customer.updated": topics.CUSTOMER,
    "profile.updated": topics.PROFILE,
    "score.changed": topics.SCORE,
    "routing.decided": topics.ROUTING,
    "notification.recorded": topics.NOTIFICATION,
    "outcome.recorded": topics.OUTCOME,
}
"""The one topic each event type belongs on."""

EVENT_MODELS: tuple[type[Envelope], ...] = (
    TradeExecuted,
    LoginSucceeded,
    LoginFailed,
    ContactLogged,
    BalanceSnapshot,
    CustomerUpdated,
    ProfileUpdated,
    ScoreChanged,
    RoutingDecided,
    NotificationRecorded,
    OutcomeRecorded,
)
