"""The task API's use-case rules that need no database: which queue a listing names. Pure."""

from __future__ import annotations

import pytest

from tierflow_common.exceptions import Forbidden, Invalid
from tierflow_notification.application.tasks import NotYourTasks, QueueNotNamed, TaskCaller, queue_for, queue_owner


def test_a_listing_names_an_advisor_or_the_outreach_queue() -> None:
    assert queue_owner("ADV017", None) == "ADV017"
    assert queue_owner(None, "outreach") is None
    assert queue_owner("ADV017", "elsewhere") == "ADV017"  # as before: only queue=outreach competes with an advisor


@pytest.mark.parametrize(("advisor_id", "queue"), [(None, None), (None, "elsewhere"), ("ADV017", "outreach")])
def test_naming_neither_or_both_is_invalid(advisor_id: str | None, queue: str | None) -> None:
    with pytest.raises(QueueNotNamed, match="give advisor_id, or queue=outreach") as refused:
        queue_owner(advisor_id, queue)
    assert isinstance(refused.value, Invalid)


ADVISOR = TaskCaller("adv-17", advisor_id="ADV017")
SUPERVISOR = TaskCaller("sup-3", reaches_all=True)


def test_an_advisor_reaches_their_own_queue_and_staff_with_the_all_scope_every_queue() -> None:
    assert queue_for(ADVISOR, None, None) == "ADV017"  # naming nothing: their own
    assert queue_for(ADVISOR, "ADV017", None) == "ADV017"
    assert queue_for(SUPERVISOR, "ADV020", None) == "ADV020"
    assert queue_for(SUPERVISOR, None, "outreach") is None
    assert ADVISOR.reaches("ADV017") and not ADVISOR.reaches("ADV020") and not ADVISOR.reaches(None)
    assert SUPERVISOR.reaches("ADV020") and SUPERVISOR.reaches(None)


@pytest.mark.parametrize(
    ("caller", "advisor_id", "queue"),
    [
        (ADVISOR, "ADV020", None),
        (ADVISOR, None, "outreach"),
        (TaskCaller("someone", advisor_id=None), "ADV017", None),  # task:read without an advisor_id claim
        (TaskCaller("someone", advisor_id=None), None, None),
    ],
)
def test_an_advisor_token_reaches_no_other_queue(caller: TaskCaller, advisor_id: str | None, queue: str | None) -> None:
    with pytest.raises(NotYourTasks) as refused:
        queue_for(caller, advisor_id, queue)
    assert isinstance(refused.value, Forbidden)


def test_staff_naming_neither_or_both_is_still_invalid() -> None:
    with pytest.raises(QueueNotNamed):
        queue_for(SUPERVISOR, None, None)
    with pytest.raises(QueueNotNamed):
        queue_for(ADVISOR, "ADV017", "outreach")
