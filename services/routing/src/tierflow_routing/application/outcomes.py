"""Outcome windows of decisions: opened and fed in the routing batch's transaction, matured by the sweeper.

Facts are folded in the same transaction as the decisions of the batch, so a window's facts and the
customer's routing state never disagree. A window matures once (its row turns `matured` in the
transaction that stages its message), so a redelivery or a second sweep publishes nothing again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tierflow_common.db.outbox import OutboxTransaction
from tierflow_common.events import ProfileUpdated
from tierflow_routing import metrics
from tierflow_routing.adapters import outcomes as store
from tierflow_routing.adapters.outcome_messages import outcome_message
from tierflow_routing.domain import outcomes as rules
from tierflow_routing.domain.facts import CustomerState
from tierflow_routing.domain.outcomes import Outcome, ProfileSeen, ScoreSeen, Window

Fact = ProfileSeen | ScoreSeen


@dataclass(frozen=True, slots=True)
class OutcomeSettings:
    """Where outcomes are published and how long a window waits for late facts after its end."""

    topic: str
    grace: timedelta = timedelta(hours=1)
    batch: int = 500


def seen_after(state: CustomerState, event: object) -> Fact | None:
    """What outcomes fold from the state a profile or a score event just updated."""
    return rules.profile_seen(state) if isinstance(event, ProfileUpdated) else rules.score_seen(state)


def decided_at(state: CustomerState) -> datetime | None:
    """When the customer's latest decision was made (None: never routed, so no window is open)."""
    return None if state.route is None else state.route.decided_at


def is_news(before: Fact | None, after: Fact, decided_at: datetime | None) -> bool:
    """Whether a fact can change a pending window of the customer (domain/outcomes.news_for_windows)."""
    return rules.news_for_windows(before, after, decided_at)


async def record_batch(
    tx: OutboxTransaction, *, decided: Sequence[CustomerState], facts: Mapping[str, Sequence[Fact]]
) -> None:
    """Open the windows of the batch's decisions, mark earlier ones superseded, fold the batch's facts in.

    Only windows that are new, newly superseded, or whose outcome-bearing facts changed are written: most
    events of a customer (a second login, another trade) change nothing a window keeps, and rewriting every
    pending window of every customer in the batch was most of routing's cost per event."""
    customer_ids = {s.customer_id for s in decided} | set(facts)
    windows = await store.pending_for_update(tx.connection, customer_ids=customer_ids)
    before = {(w.baseline.decision_id, w.window_days): rules.kept(w) for w in windows}
    by_customer: dict[str, list[Window]] = {}
    for window in windows:
        by_customer.setdefault(window.baseline.customer_id, []).append(window)
    for state in decided:  # in decision order, so two decisions of one batch supersede in turn
        route = state.route
        if route is None:
            continue
        held = by_customer.setdefault(state.customer_id, [])
        for window in held:
            rules.supersede(window, decision_id=route.decision_id, at=route.decided_at)
        baseline = rules.baseline_of(state)
        if baseline is not None:
            held.extend(rules.open_windows(baseline, rules.profile_seen(state), rules.score_seen(state)))
    for customer_id, seen in facts.items():
        for window in by_customer.get(customer_id, []):
            for fact in seen:
                if isinstance(fact, ProfileSeen):
                    rules.fold_profile(window, fact)
                else:
                    rules.fold_score(window, fact)
    changed = [
        w
        for held in by_customer.values()
        for w in held
        if before.get((w.baseline.decision_id, w.window_days)) != rules.kept(w)
    ]
    await store.save_pending(tx.connection, windows=changed)


async def mature_due(
    tx: OutboxTransaction, *, settings: OutcomeSettings, now: datetime
) -> list[tuple[Window, Outcome]]:
    """Mature windows whose end and grace have passed: record the outcome, stage its message."""
    due = await store.due_for_update(tx.connection, cutoff=now - settings.grace, limit=settings.batch)
    matured = [(window, rules.outcome(window)) for window in due]
    for window, result in matured:
        tx.add(outcome_message(window, result, topic=settings.topic))
    await store.mark_matured(tx.connection, matured=matured, at=now)
    return matured


def count(matured: Sequence[tuple[Window, Outcome]]) -> None:
    """tierflow_outcomes_total: one `matured` per window and one per true outcome (after the commit)."""
    for window, result in matured:
        base = window.baseline
        experiment = "none" if base.experiment is None else base.experiment.experiment
        arm = "none" if base.experiment is None else base.experiment.arm
        for name in ("matured", *result.true_names()):
            metrics.OUTCOMES.labels(base.flow, experiment, arm, name, str(window.window_days)).inc()
