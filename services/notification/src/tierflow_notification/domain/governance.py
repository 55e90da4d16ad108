"""Whether a due outreach step may go out now, on which channel, and if not, why. Pure.

The rules, in the order they are applied (docs/notification.md states them for the business):
1. A closed account gets nothing (suppressed `account_closed`).
2. A step that stops when the customer comes back is suppressed (`customer_returned`) once the
   customer traded or logged in after the step was planned.
3. The channel: a service message takes the step's first channel; a marketing message takes the
   first channel whose consent purpose the customer granted. None granted (or no consent known
   yet): suppressed `no_consent`, with the consents seen as evidence.
4. Service messages bypass the frequency cap and quiet hours: they go out now.
5. Quiet hours in the customer's timezone (default 22:00-08:00) defer a marketing message on an
   interrupting channel (push, SMS, email) to the end of the quiet period (`quiet_hours`).
6. The frequency cap counts marketing messages sent to the customer in the last `per_days` across
   all flows and channels. At the cap, `over_cap: defer` waits until the oldest of them leaves the
   window (`frequency_cap`), unless that is more than `give_up_after_days` after the step was due,
   when it is dropped (suppressed `frequency_cap`); `over_cap: drop` suppresses at once.
7. An outbound call (a step marked `outbound_call`, service or marketing) that may go is counted against
   its tier's calls of the day (governance.calls, domain/calls.py); with none left it waits for the next
   day (`call_share_spent`), or is dropped once `give_up_after_days` late. The runner applies this rule:
   it needs the day's count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tierflow_common.events.outputs import MessageClass, NotificationChannel
from tierflow_notification.domain.calls import SHARE_SPENT, CallCapacity
from tierflow_notification.domain.playbooks import CONSENT_FOR_CHANNEL, INTERRUPTING, Governance, QuietHours


class Action(StrEnum):
    """What governance decides for a due step."""

    SEND = "send"
    DEFER = "defer"
    SUPPRESS = "suppress"


@dataclass(frozen=True, slots=True)
class Contact:
    """The notification service's projection of a customer: consents, timezone, activity."""

    customer_id: str
    consents: Mapping[str, bool] = field(default_factory=dict)
    consents_as_of: datetime | None = None
    timezone: str = "Asia/Shanghai"
    closed: bool = False
    last_active_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DueStep:
    """What governance needs to know about a step that is due."""

    channels: tuple[NotificationChannel, ...]
    message_class: MessageClass
    stop_when_active: bool
    planned_at: datetime
    first_due_at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    """Governance's answer for one due step: the action, its reason, the channel, until when, the evidence."""

    action: Action
    reason: str
    channel: NotificationChannel | None = None
    until: datetime | None = None
    evidence: dict[str, object] = field(default_factory=dict)


def consent_evidence(contact: Contact | None, channel: NotificationChannel | None) -> dict[str, object]:
    """What the decision relied on: the purpose, whether it was granted, and as of which customer event."""
    purpose = CONSENT_FOR_CHANNEL.get(channel) if channel is not None else None
    if contact is None:
        return {"purpose": purpose, "granted": False, "as_of": None, "known": False}
    return {
        "purpose": purpose,
        "granted": bool(contact.consents.get(purpose, False)) if purpose else None,
        "as_of": contact.consents_as_of.isoformat() if contact.consents_as_of else None,
        "known": True,
    }


def choose_channel(step: DueStep, contact: Contact | None) -> NotificationChannel | None:
    """The first channel the step may use: any for a service message, a consented one for marketing."""
    if step.message_class is MessageClass.SERVICE:
        return step.channels[0]
    if contact is None:
        return None
    for channel in step.channels:
        if contact.consents.get(CONSENT_FOR_CHANNEL[channel], False):
            return channel
    return None


def quiet_until(now: datetime, timezone: str, quiet: QuietHours) -> datetime | None:
    """The end of the quiet period `now` falls in (customer's local time), or None outside it."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    start, end = quiet.start, quiet.end
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone)


def govern(
    step: DueStep,
    *,
    contact: Contact | None,
    now: datetime,
    marketing_sent: Sequence[datetime],
    rules: Governance,
) -> Verdict:
    """The verdict for one due step; `marketing_sent` are the customer's recent marketing send times."""
    if contact is not None and contact.closed:
        return Verdict(Action.SUPPRESS, "account_closed")
    returned = contact is not None and contact.last_active_at is not None and contact.last_active_at > step.planned_at
    if step.stop_when_active and returned:
        return Verdict(Action.SUPPRESS, "customer_returned")
    channel = choose_channel(step, contact)
    if channel is None:
        return Verdict(Action.SUPPRESS, "no_consent", evidence=consent_evidence(contact, step.channels[0]))
    evidence = consent_evidence(contact, channel) if step.message_class is MessageClass.MARKETING else {}
    if step.message_class is MessageClass.SERVICE:
        return Verdict(Action.SEND, "service_message", channel)
    if channel in INTERRUPTING:
        timezone = contact.timezone if contact is not None else "UTC"
        until = quiet_until(now, timezone, rules.quiet_hours)
        if until is not None:
            return Verdict(Action.DEFER, "quiet_hours", channel, until, evidence)
    cap = rules.frequency_cap
    window = timedelta(days=cap.per_days)
    recent = sorted(t for t in marketing_sent if t > now - window)
    if len(recent) >= cap.max_messages:
        # A slot frees when the oldest send that keeps the count at the cap leaves the window.
        until = recent[len(recent) - cap.max_messages] + window
        if cap.over_cap == "drop" or until > step.first_due_at + timedelta(days=cap.give_up_after_days):
            return Verdict(Action.SUPPRESS, "frequency_cap", channel, evidence=evidence)
        return Verdict(Action.DEFER, "frequency_cap", channel, until, evidence)
    return Verdict(Action.SEND, "delivered", channel, evidence=evidence)


def call_over_share(step: DueStep, verdict: Verdict, *, now: datetime, calls: CallCapacity) -> Verdict:
    """The verdict for a call that may go but whose tier has no calls left today: wait for the next calling day,
    or drop it once it would be more than `give_up_after_days` late."""
    if calls.gives_up(step.first_due_at, now):
        return Verdict(Action.SUPPRESS, SHARE_SPENT, verdict.channel, evidence=verdict.evidence)
    return Verdict(Action.DEFER, SHARE_SPENT, verdict.channel, calls.next_day(now), verdict.evidence)
