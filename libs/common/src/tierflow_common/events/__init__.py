"""The event contract: envelope, payloads, topics and the codec."""

from tierflow_common.events.codec import decode_event, encode_event
from tierflow_common.events.envelope import (
    EVENT_MODELS,
    EVENT_TOPIC,
    BalanceSnapshot,
    ContactLogged,
    CustomerUpdated,
    Envelope,
    Event,
    InputEvent,
    LoginFailed,
    LoginSucceeded,
    NotificationRecorded,
    OutcomeRecorded,
    ProfileUpdated,
    RoutingDecided,
    ScoreChanged,
    TradeExecuted,
)
from tierflow_common.events.topics import Topics

__all__ = [
    "EVENT_MODELS",
    "EVENT_TOPIC",
    "BalanceSnapshot",
    "ContactLogged",
    "CustomerUpdated",
    "Envelope",
    "Event",
    "InputEvent",
    "LoginFailed",
    "LoginSucceeded",
    "NotificationRecorded",
    "OutcomeRecorded",
    "ProfileUpdated",
    "RoutingDecided",
    "ScoreChanged",
    "Topics",
    "TradeExecuted",
    "decode_event",
    "encode_event",
]
