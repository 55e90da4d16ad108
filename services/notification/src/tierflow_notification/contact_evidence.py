"""Logged contacts as evidence: a contact.logged by the advisor satisfies that period's recurring task.

Applied by the batch processor (service.py) inside the batch's transaction, after the batch's
cancellations and new plans, so it sees the steps as the batch leaves them; the rule is
domain/satisfaction.py. An open task is closed with the contact as evidence (`closed_by`
`satisfied_by_contact`, `evidence_event_id`, closed at the contact's time); an occurrence that is due
but not yet on the workbench is settled without a task being opened twice: its task is stored already
closed, the step done, and the series' next occurrence planned. A redelivered contact is a duplicate
in the inbox and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_notification.adapters import steps, tasks
from tierflow_notification.domain.outreach import PlannedStep, following, sent_id
from tierflow_notification.domain.playbooks import MAX_SATISFIABLE_PERIOD_DAYS
from tierflow_notification.domain.records import NotificationRecord
from tierflow_notification.domain.satisfaction import SATISFIED_BY_CONTACT, LoggedContact, satisfy, settle_pending
from tierflow_notification.domain.steps import StepChange, StepStatus


async def apply_contacts(
    conn: AsyncConnection, contacts: Sequence[LoggedContact], *, now: datetime
) -> list[NotificationRecord]:
    """Satisfy the occurrences these contacts are evidence for; the records to log (pending ones settled)."""
    if not contacts:
        return []
    times = [c.occurred_at for c in contacts]
    candidates = await steps.satisfiable_steps_for_update(
        conn,
        customer_ids={c.customer_id for c in contacts},
        since=min(times) - timedelta(days=MAX_SATISFIABLE_PERIOD_DAYS + 31),  # a period opened up to a year before
        until=max(times),
    )
    opened = [sent_id(s.step_id) for s in candidates if s.status is StepStatus.DONE]
    open_ids = await tasks.open_task_ids(conn, task_ids=opened)
    changes: list[StepChange] = []
    records: list[NotificationRecord] = []
    planned: list[PlannedStep] = []
    for satisfied in satisfy(contacts, candidates, open_ids):
        if satisfied.task_open:
            await tasks.close_with_evidence(
                conn,
                task_id=satisfied.task_id,
                by=SATISFIED_BY_CONTACT,
                closed_at=satisfied.contact.occurred_at,
                evidence_event_id=satisfied.contact.event_id,
            )
            continue
        change, record, task = settle_pending(satisfied, now)
        changes.append(change)
        records.append(record)
        await tasks.open_task(conn, task)
        successor = following(satisfied.step, SATISFIED_BY_CONTACT, now=now)
        if successor is not None:
            planned.append(successor)
    await steps.update_steps(conn, changes)
    await steps.insert_steps(conn, planned, now=now)
    return records
