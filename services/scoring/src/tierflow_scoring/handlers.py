"""What scoring does with each event type it consumes: HANDLERS maps every such class to its handler.

A handler takes the batch it belongs to and one event. The batch processor (`service.py`) claims
the events, loads the customers' states, calls `HANDLERS[type(event)]` for each fresh event in
order, and stores the states the handlers touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from tierflow_common.events import ProfileUpdated
from tierflow_common.events.envelope import Envelope
from tierflow_scoring.domain.churn import ChurnModel
from tierflow_scoring.domain.inputs import inputs_from_profile
from tierflow_scoring.domain.policy import TierPolicy
from tierflow_scoring.domain.score import Published, ScoreState, apply_profile


@dataclass
class ScoringBatch:
    """What the handlers of one batch share: the rules, the customers' states, and where changes go."""

    policy: TierPolicy
    model: ChurnModel
    stored: dict[str, ScoreState]
    publish: Callable[[Published, UUID | None], None]
    """Called with each change to announce and the event that caused it (None: time alone)."""
    touched: dict[str, ScoreState] = field(default_factory=dict)

    def state_of(self, customer_id: str) -> ScoreState:
        """The customer's state in this batch: as changed so far, as stored, or a new one."""
        state = self.touched.get(customer_id) or self.stored.get(customer_id) or ScoreState(customer_id=customer_id)
        self.touched[customer_id] = state
        return state


def apply_profile_updated(batch: ScoringBatch, event: ProfileUpdated) -> None:
    """A profile version: catch up on time, evaluate it at its computed_at, publish what changed."""
    state = batch.state_of(event.customer_id)
    for change in apply_profile(state, inputs_from_profile(event), batch.policy, batch.model):
        batch.publish(change, event.event_id if change.caused_by_profile else None)


HANDLERS: dict[type[Envelope], Callable[[ScoringBatch, Any], None]] = {
    ProfileUpdated: apply_profile_updated,
}
