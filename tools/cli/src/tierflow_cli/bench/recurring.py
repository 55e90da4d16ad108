"""Issue-12 scenario: task planning for customers with recurring steps over a simulated year, in process.

N private_advisor customers (500 per advisor) all get their decision at the same moment, the worst case
for crowding (a policy rollout). The planner the service runs (domain/outreach.py: `plan_steps` at the
decision, `next_occurrence` each time an occurrence settles) plans every occurrence of the default
programme for a year. Measured in the same run:

- steps planned per second, beside the baseline of planning the same playbook without recurrence (each
  step once, as before issue 12);
- the peak number of steps due at one moment, in one hour and on one day, with spreading, beside the
  same series started unspread (every customer's occurrence 0 at the decision time).

Pure planning, no database: what the service adds per occurrence is this computation plus one row
inserted in the settle transaction it already runs.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.table import Table

from tierflow_cli.bench.common import console
from tierflow_common.events.outputs import Flow, Priority
from tierflow_notification.domain.durations import add_months
from tierflow_notification.domain.outreach import Decision, PlannedStep, plan_steps, series_until
from tierflow_notification.domain.playbooks import PlaybookSet, load_playbooks
from tierflow_notification.settings import NotificationSettings

START = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
PER_ADVISOR = 500


def _decisions(customers: int) -> Iterator[Decision]:
    for n in range(customers):
        cid = f"A{n:07d}"
        yield Decision(
            cid,
            uuid.uuid5(uuid.NAMESPACE_OID, cid),
            1,
            Flow.PRIVATE_ADVISOR,
            Priority.NORMAL,
            f"ADV{n // PER_ADVISOR}",
            True,
        )


def _plan_year(playbooks: PlaybookSet, customers: int, *, spread: bool) -> tuple[int, float, list[PlannedStep]]:
    """Every step planned for the customers in a year: (count, seconds, the steps)."""
    end = add_months(START, 12)
    steps: list[PlannedStep] = []
    began = time.perf_counter()
    for decision in _decisions(customers):
        for planned in plan_steps(decision, playbooks, now=START):
            if planned.every is None:
                steps.append(planned)
                continue
            if not spread:  # the same series, occurrence 0 at the decision for everybody
                planned = replace(planned, due_at=START, series_start=START)
            steps.extend(series_until(planned, end))
    return len(steps), time.perf_counter() - began, steps


def _without_recurrence(playbooks: PlaybookSet) -> PlaybookSet:
    """The same playbook file with every step one-off (the baseline: planning as before recurrence)."""
    flows = {
        flow: tuple(s.model_copy(update={"every": None, "window": None, "satisfied_by_contact": False}) for s in steps)
        for flow, steps in playbooks.playbooks.items()
    }
    return playbooks.model_copy(update={"playbooks": flows})


def _peaks(planned: list[PlannedStep]) -> tuple[int, int, int, int]:
    """The most recurring occurrences due at one moment, in one hour, on one day, and one advisor's most on one
    day (the one-off steps of the decisions, all due at the decision, are left out: spreading is not for them)."""
    steps = [s for s in planned if s.every is not None]
    moments = Counter(s.due_at for s in steps)
    hours = Counter(s.due_at.replace(minute=0, second=0, microsecond=0) for s in steps)
    days = Counter(s.due_at.date() for s in steps)
    advisor = Counter(s.due_at.date() for s in steps if s.advisor_id == "ADV0")
    return max(moments.values()), max(hours.values()), max(days.values()), max(advisor.values())


def run(*, customers: int) -> None:
    console.rule(f"[bold]recurring[/]: the private_advisor programme for {customers:,} customers over a year")
    playbooks = load_playbooks(Path(NotificationSettings.model_fields["playbook_file"].default))
    one_off, one_off_s, _ = _plan_year(_without_recurrence(playbooks), customers, spread=True)
    recurring, recurring_s, spread_steps = _plan_year(playbooks, customers, spread=True)
    _, _, unspread_steps = _plan_year(playbooks, customers, spread=False)
    table = Table(title="planning (steps per second, one process)")
    for column in ("planning", "steps", "seconds", "steps/s", "vs baseline"):
        table.add_column(column, justify="left" if column == "planning" else "right")
    baseline = one_off / one_off_s
    for label, count, seconds in (
        ("each step once, no recurrence (baseline)", one_off, one_off_s),
        ("a year of the recurring programme", recurring, recurring_s),
    ):
        rate = count / seconds
        table.add_row(label, f"{count:,}", f"{seconds:.2f}", f"{rate:,.0f}", f"{rate / baseline:.3f}")
    console.print(table)
    peaks = Table(title=f"recurring occurrences due at the peak ({PER_ADVISOR} customers per advisor, decided at once)")
    for column in ("series start", "one moment", "one hour", "one day", "one advisor, one day"):
        peaks.add_column(column, justify="left" if column == "series start" else "right")
    for label, steps in (("unspread (occurrence 0 at the decision)", unspread_steps), ("spread", spread_steps)):
        peaks.add_row(label, *(f"{p:,}" for p in _peaks(steps)))
    console.print(peaks)
    console.print(f"{recurring:,} steps planned in the year ({recurring / customers:.1f} per customer)")
