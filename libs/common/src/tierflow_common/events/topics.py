"""Topic names: one per event family, all keyed by customer_id."""

from __future__ import annotations

from typing import Final

TRADE: Final = "tierflow.trade.v1"
LOGIN: Final = "tierflow.login.v1"
CONTACT: Final = "tierflow.contact.v1"
BALANCE: Final = "tierflow.balance.v1"
CUSTOMER: Final = "tierflow.customer.v1"
PROFILE: Final = "tierflow.profile.v1"
SCORE: Final = "tierflow.score.v1"
ROUTING: Final = "tierflow.routing.v1"
NOTIFICATION: Final = "tierflow.notification.v1"
OUTCOME: Final = "tierflow.outcome.v1"
DEAD_LETTER: Final = "tierflow.dlq.v1"

INPUT_TOPICS: Final = (TRADE, LOGIN, CONTACT, BALANCE, CUSTOMER)
PIPELINE_TOPICS: Final = (PROFILE, SCORE, ROUTING, NOTIFICATION, OUTCOME)
ALL_TOPICS: Final = (*INPUT_TOPICS, *PIPELINE_TOPICS, DEAD_LETTER)


class Topics:
    """Topic names under an optional prefix, so tests and tenants can share one cluster."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def name(self, base: str) -> str:
        """The concrete topic name for a base topic such as TRADE."""
        return f"{self.prefix}{base}"

    def base(self, name: str) -> str:
        """The base topic name of a concrete (possibly prefixed) topic name."""
        return name[len(self.prefix) :] if self.prefix and name.startswith(self.prefix) else name

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.name(t) for t in INPUT_TOPICS)

    @property
    def all(self) -> tuple[str, ...]:
        return tuple(self.name(t) for t in ALL_TOPICS)
