"""The task API's use-case rules that need no database: which queue a listing names. Pure."""

from __future__ import annotations

import pytest

from tierflow_common.exceptions import Invalid
from tierflow_notification.application.tasks import QueueNotNamed, queue_owner


def test_a_listing_names_an_advisor_or_the_outreach_queue() -> None:
    assert queue_owner("ADV017", None) == "ADV017"
    assert queue_owner(None, "outreach") is None
    assert queue_owner("ADV017", "elsewhere") == "ADV017"  # as before: only queue=outreach competes with an advisor


@pytest.mark.parametrize(("advisor_id", "queue"), [(None, None), (None, "elsewhere"), ("ADV017", "outreach")])
def test_naming_neither_or_both_is_invalid(advisor_id: str | None, queue: str | None) -> None:
    with pytest.raises(QueueNotNamed, match="give advisor_id, or queue=outreach") as refused:
        queue_owner(advisor_id, queue)
    assert isinstance(refused.value, Invalid)
