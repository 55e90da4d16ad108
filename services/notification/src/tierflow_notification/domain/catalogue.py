"""The community content catalogue, offered one item at a time, in order, never the same item twice. Pure.

The playbook file's `catalogue:` section (playbooks/default.yaml, docs/notification.md) lists the
items (a beginner course, an investing challenge, an interest group, an advisor-hosted session), each
with a template and channels, and the cadence: while a customer is in the catalogue's flow, one item
every `every_days`, the first `first_after_days` after the decision and never sooner than
`every_days` after the previous offer. What was offered is the customer's notification log: an item
counts as offered once a message of its template was sent (or is being sent), so leaving the flow and
coming back resumes at the next item, and an item whose message was suppressed (no consent, the
holdout, a route change before it was due) is offered again on the customer's next plan.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tierflow_common.events.outputs import Flow, NotificationChannel


class ItemKind(StrEnum):
    """What a catalogue item is (DOMAIN.md, community operations)."""

    BEGINNER_COURSE = "beginner_course"
    INVESTING_CHALLENGE = "investing_challenge"
    INTEREST_GROUP = "interest_group"
    ADVISOR_SESSION = "advisor_session"  # an advisor-hosted sharing session


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CatalogueItem(_Model):
    """One invitation of the catalogue: its kind, the message template and the channels it may go out on."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    kind: ItemKind
    template: str = Field(pattern=r"^[a-z][a-z0-9_.]*$", max_length=64)
    channels: tuple[NotificationChannel, ...] = Field(min_length=1, description="In order of preference.")
    description: str = ""


class Catalogue(_Model):
    """The items a flow's customers are offered in sequence, and how often."""

    flow: Flow = Flow.COMMUNITY
    first_after_days: float = Field(default=7, ge=0, le=365, description="The first offer after the decision.")
    every_days: float = Field(default=14, gt=0, le=365, description="One offer every this many days in the flow.")
    items: tuple[CatalogueItem, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_items(self) -> Catalogue:
        for what in ("name", "template"):
            values = [getattr(item, what) for item in self.items]
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                # The template is what the log remembers as offered: two items may not share one.
                raise ValueError(f"catalogue item {what}s must be unique: {duplicates}")
        if NotificationChannel.ADVISOR_TASK in {c for item in self.items for c in item.channels}:
            raise ValueError("a catalogue item is an invitation to the customer, not an advisor task")
        return self

    @property
    def templates(self) -> frozenset[str]:
        """The templates of every item (what the log is searched for)."""
        return frozenset(item.template for item in self.items)


@dataclass(frozen=True, slots=True)
class Offer:
    """An item to offer, and when."""

    item: CatalogueItem
    due_at: datetime


def next_offers(
    catalogue: Catalogue, *, offered: Collection[str], last_offered_at: datetime | None, now: datetime
) -> list[Offer]:
    """The items not offered yet (by template), in catalogue order, one every `every_days` from the first due
    time: `first_after_days` from now, and not sooner than `every_days` after the last offer."""
    every = timedelta(days=catalogue.every_days)
    first = now + timedelta(days=catalogue.first_after_days)
    if last_offered_at is not None:
        first = max(first, last_offered_at + every)
    remaining = [item for item in catalogue.items if item.template not in offered]
    return [Offer(item, first + n * every) for n, item in enumerate(remaining)]
