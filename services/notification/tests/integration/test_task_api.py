"""The advisor task API on the worker's ops port: scopes, paging, the queue rule, closing, one error shape,
its OpenAPI document, and the ops endpoints beside it, open."""

from __future__ import annotations

import uuid

import pytest

from tierflow_notification.domain.tasks import TaskStatus
from tierflow_testing.http import post_until_answered

from .conftest import TaskApi, bearer

pytestmark = pytest.mark.integration

READ, WRITE = "task:read", "task:write"  # an advisor's own tasks (with an advisor_id claim)
READ_ALL, WRITE_ALL = "task:read:all", "task:write:all"  # supervisors and the outreach team


async def test_without_a_valid_token_or_scope_nothing_is_listed_or_closed(task_api: TaskApi) -> None:
    api = task_api.client
    missing = await api.get("/v1/tasks?advisor_id=ADV1")
    assert (missing.status_code, missing.json()["error"]) == (401, "unauthorized")
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="tierflow"'
    broken = await api.get("/v1/tasks?advisor_id=ADV1", headers={"Authorization": "Bearer not-a-jwt"})
    assert (broken.status_code, broken.json()["error"]) == (401, "unauthorized")
    # Issue 11 added the :all scopes, so the detail names both.
    reader = await api.get("/v1/tasks?advisor_id=ADV1", headers=bearer("route:read"))
    assert (reader.status_code, reader.json()) == (
        403,
        {"error": "forbidden", "detail": "scope task:read or task:read:all required"},
    )
    closer = await api.post(f"/v1/tasks/{uuid.uuid4()}/done", headers=bearer(READ, advisor="ADV1"))
    assert (closer.status_code, closer.json()) == (
        403,
        {"error": "forbidden", "detail": "scope task:write or task:write:all required"},
    )


async def test_an_advisor_and_the_outreach_queue_page_through_their_own_tasks(task_api: TaskApi) -> None:
    api = task_api.client
    mine = await task_api.open_tasks("ADV1", 3)
    queue = await task_api.open_tasks(None, 1)
    await task_api.open_tasks("ADV2", 1)
    await task_api.open_tasks("ADV1", 1, status=TaskStatus.DONE)

    # Since issue 11 an advisor's token names its advisor (advisor_id claim); the outreach queue is
    # read with task:read:all (supervisors and the outreach team).
    adv1 = bearer(READ, advisor="ADV1")
    first = (await api.get("/v1/tasks?advisor_id=ADV1&limit=2", headers=adv1)).json()
    assert [t["task_id"] for t in first["items"]] == mine[:2] and first["next_after"] == mine[1]
    rest = (await api.get(f"/v1/tasks?advisor_id=ADV1&limit=2&after={mine[1]}", headers=adv1)).json()
    assert [t["task_id"] for t in rest["items"]] == mine[2:] and rest["next_after"] is None
    outreach = (await api.get("/v1/tasks?queue=outreach", headers=bearer(READ_ALL))).json()
    assert [(t["task_id"], t["advisor_id"], t["status"]) for t in outreach["items"]] == [(queue[0], None, "open")]
    done = (await api.get("/v1/tasks?advisor_id=ADV1&status=done", headers=adv1)).json()
    assert [t["status"] for t in done["items"]] == ["done"]
    assert set(first["items"][0]) == {
        "task_id",
        "advisor_id",
        "customer_id",
        "decision_id",
        "template",
        "priority",
        "due_at",
        "status",
        "created_at",
        "closed_at",
        "closed_by",
        "evidence_event_id",  # the contact.logged that satisfied a recurring task (issue 12)
        "outcome",
        "reason",
        "tier",  # the customer's tier when the task was planned (issue 12)
    }
    assert first["items"][0]["tier"] == "A" and outreach["items"][0]["tier"] == "D"


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("", "advisor_id"),
        ("queue=elsewhere", "advisor_id"),
        ("advisor_id=ADV1&queue=outreach", "advisor_id"),
        ("advisor_id=%00", "advisor_id"),  # not an advisor id (was a 500: PostgreSQL refuses NUL in text)
        ("advisor_id=ADV1&status=lost", "status"),
        ("advisor_id=ADV1&limit=0", "limit"),
        ("advisor_id=ADV1&limit=501", "limit"),
        ("advisor_id=ADV1&limit=many", "limit"),
        ("advisor_id=ADV1&after=yesterday", "after"),
    ],
)
async def test_a_malformed_listing_is_refused_with_the_parameter_named(
    task_api: TaskApi, query: str, named: str
) -> None:
    answer = await task_api.client.get(f"/v1/tasks?{query}", headers=bearer(READ_ALL))  # staff: any queue
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_request")
    assert named in answer.json()["detail"]


async def test_closing_a_task_records_who_and_when_once(task_api: TaskApi) -> None:
    api = task_api.client
    [task_id] = await task_api.open_tasks("ADV1", 1)
    closed = await api.post(f"/v1/tasks/{task_id}/done", headers=bearer(WRITE, advisor="ADV1"))
    assert closed.status_code == 200
    body = closed.json()
    assert (body["task_id"], body["status"], body["closed_by"]) == (task_id, "done", "advisor-ui")
    assert body["closed_at"].startswith("2026-11-20T04:00:00")  # the injected clock's time
    again = await api.post(f"/v1/tasks/{task_id}/done", headers=bearer(WRITE_ALL, subject="someone-else"))
    assert (again.status_code, again.json()["closed_by"]) == (200, "advisor-ui")
    assert (await api.get("/v1/tasks?advisor_id=ADV1", headers=bearer(READ, advisor="ADV1"))).json()["items"] == []

    unknown = await api.post(f"/v1/tasks/{uuid.uuid4()}/done", headers=bearer(WRITE, advisor="ADV1"))
    assert (unknown.status_code, unknown.json()) == (404, {"error": "not_found", "detail": "no such task"})
    malformed = await api.post("/v1/tasks/not-a-task/done", headers=bearer(WRITE, advisor="ADV1"))
    assert (malformed.status_code, malformed.json()["error"]) == (422, "invalid_request")
    assert "task_id" in malformed.json()["detail"]


async def test_an_advisor_reaches_only_their_own_tasks_and_staff_with_all_scopes_reach_every_queue(
    task_api: TaskApi,
) -> None:
    api = task_api.client
    [mine] = await task_api.open_tasks("ADV1", 1)
    [theirs] = await task_api.open_tasks("ADV2", 1)
    [outreach] = await task_api.open_tasks(None, 1)
    adv1_read, adv1_write = bearer(READ, advisor="ADV1"), bearer(WRITE, advisor="ADV1")

    own = (await api.get("/v1/tasks", headers=adv1_read)).json()  # no advisor_id: their own queue
    assert [t["task_id"] for t in own["items"]] == [mine]
    for query in ("advisor_id=ADV2", "queue=outreach"):
        refused = await api.get(f"/v1/tasks?{query}", headers=adv1_read)
        assert (refused.status_code, refused.json()["error"]) == (403, "forbidden"), query
        assert "ADV2" not in refused.text and theirs not in refused.text
    unbound = await api.get("/v1/tasks?advisor_id=ADV1", headers=bearer(READ))  # task:read, no advisor_id claim
    assert (unbound.status_code, unbound.json()["error"]) == (403, "forbidden")

    for task_id in (theirs, outreach):  # as if it did not exist: nothing learnt, nothing closed
        answer = await api.post(f"/v1/tasks/{task_id}/done", headers=adv1_write)
        assert (answer.status_code, answer.json()) == (404, {"error": "not_found", "detail": "no such task"})
    unbound_close = await api.post(f"/v1/tasks/{mine}/done", headers=bearer(WRITE))
    assert unbound_close.status_code == 404
    still_open = (await api.get("/v1/tasks?advisor_id=ADV2", headers=bearer(READ_ALL))).json()["items"]
    assert [(t["task_id"], t["status"]) for t in still_open] == [(theirs, "open")]

    supervisor = bearer(WRITE_ALL, subject="supervisor-3")
    for task_id in (theirs, outreach):
        closed = await api.post(f"/v1/tasks/{task_id}/done", headers=supervisor)
        assert (closed.status_code, closed.json()["closed_by"]) == (200, "supervisor-3")
    assert (await api.post(f"/v1/tasks/{mine}/done", headers=adv1_write)).status_code == 200


async def test_a_cancelled_task_cannot_be_closed(task_api: TaskApi) -> None:
    [cancelled] = await task_api.open_tasks("ADV1", 1, status=TaskStatus.CANCELLED)
    for headers in (bearer(WRITE, advisor="ADV1"), bearer(WRITE_ALL)):
        answer = await task_api.client.post(f"/v1/tasks/{cancelled}/done", headers=headers)
        assert (answer.status_code, answer.json()["error"]) == (409, "conflict")
    listed = await task_api.client.get("/v1/tasks?status=cancelled", headers=bearer(READ, advisor="ADV1"))
    assert [(t["task_id"], t["status"], t["closed_by"]) for t in listed.json()["items"]] == [
        (cancelled, "cancelled", None)
    ]


async def test_the_openapi_document_and_the_open_ops_endpoints_share_the_port(task_api: TaskApi) -> None:
    api = task_api.client
    schema = (await api.get("/openapi.json")).json()
    assert schema["info"]["title"] == "tierflow advisor task API"
    # Issue 12 added an advisor's coverage beside the tasks.
    assert set(schema["paths"]) == {
        "/v1/tasks",
        "/v1/tasks/{task_id}/done",
        "/v1/advisors/{advisor_id}/coverage",
        "/v1/calls",
    }
    assert [t["name"] for t in schema["tags"]] == ["tasks", "coverage", "calls"]
    assert (await api.get("/docs")).status_code == 200
    assert (await api.get("/healthz")).json() == {"status": "alive", "service": "notification"}
    assert (await api.get("/readyz")).json() == {"status": "ready", "service": "notification", "checks": {}}
    metrics = await api.get("/metrics")
    assert metrics.status_code == 200 and "tierflow_notifications_total" in metrics.text
    wrong = await api.post("/healthz")
    assert (wrong.status_code, set(wrong.headers["Allow"].split(", "))) == (405, {"GET", "HEAD"})
    not_allowed = await api.delete("/v1/tasks")
    assert (not_allowed.status_code, not_allowed.headers["Allow"]) == (405, "GET")


async def test_a_100_mb_body_is_refused_before_it_is_read(task_api: TaskApi) -> None:
    base = str(task_api.client.base_url).rstrip("/")
    path = f"/v1/tasks/{uuid.uuid4()}/done"
    hundred_mb = 100 * 1024 * 1024
    unauthenticated = await post_until_answered(base, path, total=hundred_mb, chunked=True)
    declared = await post_until_answered(base, path, total=hundred_mb, headers=bearer(WRITE))
    # Closing a task takes an optional report (issue 12): a streamed body is read up to the limit, then refused.
    streamed = await post_until_answered(base, path, total=hundred_mb, chunked=True, headers=bearer(WRITE))
    for refused, status in ((unauthenticated, 401), (declared, 413), (streamed, 413)):
        assert refused.status == status, refused.head
        assert refused.sent < 16 * 1024 * 1024, f"the server read {refused.sent} bytes before answering"
        assert "connection: close" in refused.head.lower()
