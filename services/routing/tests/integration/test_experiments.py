"""Experiments on the real broker, PostgreSQL and Redis: arms on the decisions, the log and explain; locking."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_routing.domain.experiments import bucket, drawn_arm, holdout_assignment
from tierflow_routing.domain.policy import parse_routing_policy
from tierflow_testing.kafka import wait_until
from tierflow_testing.plugin import Namespace

from .conftest import bearer, publish_customer
from .test_routing_decisions import decisions, route_of

pytestmark = pytest.mark.integration

EXPERIMENT = """
experiments:
  - id: robo-for-c-1
    salt: robo-for-c-1-salt
    population: {rules: [default], when: {tier: [C]}}
    arms:
      - {name: control, weight: 1}
      - {name: robo, weight: 1, flow: robo_advisor, playbook: robo_guided}
"""
HOLDOUT = """
holdout: {id: programme-holdout, salt: programme-holdout-salt, share: 0.2}
"""


def policy_yaml(version: str, *, experiment: str = EXPERIMENT) -> str:
    rules = "rules:\n  - name: a_private_advisor\n    when: {tier: [A]}\n    then: {flow: private_advisor}\n"
    rules += "  - name: default\n    then: {flow: community}\n"
    return f"version: {version}\n{rules}{experiment}{HOLDOUT}"


POLICY = parse_routing_policy(policy_yaml("exp-1"))


def pick(want: str) -> str:
    """A customer id the hash puts in the holdout, or (outside it) in the arm `want`."""
    for n in range(10_000):
        customer_id = f"X{n:05d}"
        held = holdout_assignment(POLICY.holdout, customer_id) is not None
        arm = drawn_arm(POLICY.experiments[0], customer_id)
        if (want == "holdout" and held) or (not held and arm is not None and arm.name == want):
            return customer_id
    raise AssertionError(want)


UNSIGNED_H = text(
    "SELECT (('x' || encode(substring(sha256(convert_to(:salt || ':' || :customer_id, 'UTF8')) FROM 1 FOR 8), 'hex'))"
    "::bit(64)::bigint)::numeric + CASE WHEN ('x' || encode(substring(sha256(convert_to(:salt || ':' || :customer_id,"
    " 'UTF8')) FROM 1 FOR 8), 'hex'))::bit(64)::bigint < 0 THEN 18446744073709551616 ELSE 0 END"
)


async def test_arms_and_the_holdout_are_on_the_decisions_the_log_and_explain(
    ns: Namespace, worker: object, api: httpx.AsyncClient, database: AsyncEngine
) -> None:
    uploaded = await api.post("/v1/policies", json={"yaml": policy_yaml("exp-1")}, headers=bearer("policy:write"))
    assert uploaded.status_code == 201, uploaded.text
    expected = {
        pick("robo"): (
            "robo_advisor",
            {"experiment": "robo-for-c-1", "arm": "robo", "assignment_probability": 0.5, "playbook": "robo_guided"},
        ),
        pick("control"): ("community", {"experiment": "robo-for-c-1", "arm": "control", "assignment_probability": 0.5}),
        pick("holdout"): (
            "community",
            {"experiment": "programme-holdout", "arm": "holdout", "assignment_probability": 0.2},
        ),
    }
    for customer_id in expected:
        await publish_customer(ns, customer_id, "C")

    async def all_assigned() -> bool:
        routes = {c: await route_of(api, c) for c in expected}
        return all((r.get("flow"), r.get("experiment")) == expected[c] for c, r in routes.items())

    await wait_until(all_assigned, timeout_s=30, what="every customer routed in their arm")

    published = {d.customer_id: d.payload for d in await decisions(ns, min_count=3) if d.customer_id in expected}
    for customer_id, (flow, arm) in expected.items():
        payload = published[customer_id]
        assert payload.flow.value == flow and payload.policy_version == "exp-1"
        assert payload.experiment is not None and payload.experiment.model_dump() == arm
        log = await api.get(f"/v1/customers/{customer_id}/decisions", headers=bearer("route:read"))
        assert log.json()["items"][0]["experiment"] == arm
        explained = (await api.get(f"/v1/customers/{customer_id}/explain", headers=bearer("route:read"))).json()
        assert explained["experiment"] == arm and explained["route"]["experiment"] == arm
        own = await api.get(
            f"/v1/customers/{customer_id}/route", headers=bearer("route:read:self", customer=customer_id)
        )
        assert own.status_code == 200 and "experiment" not in own.json(), "a customer is not told their arm"

    # The documented SQL recomputation gives the same 64-bit number as the service, on PostgreSQL itself.
    async with database.connect() as conn:
        for customer_id in expected:
            for salt in ("robo-for-c-1-salt", "programme-holdout-salt"):
                h = (await conn.execute(UNSIGNED_H, {"salt": salt, "customer_id": customer_id})).scalar_one()
                assert bucket(salt, customer_id) * 2**64 == int(h)


async def test_a_stored_experiment_is_locked_and_a_new_id_is_a_new_experiment(
    api: httpx.AsyncClient, worker: object
) -> None:
    first = await api.post("/v1/policies", json={"yaml": policy_yaml("exp-1")}, headers=bearer("policy:write"))
    assert first.status_code == 201, first.text
    reweighted = EXPERIMENT.replace("{name: robo, weight: 1,", "{name: robo, weight: 3,")
    refused = await api.post(
        "/v1/policies", json={"yaml": policy_yaml("exp-2", experiment=reweighted)}, headers=bearer("policy:write")
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == (
        "experiments and the holdout are locked once stored (a change is a new experiment: give it a new id): "
        "robo-for-c-1 (stored in version exp-1) changes arms"
    )
    active = await api.get("/v1/policies/active", headers=bearer("route:read"))
    assert active.json()["version"] == "exp-1", "nothing of a refused policy is applied"
    renamed = reweighted.replace("robo-for-c-1", "robo-for-c-2")
    accepted = await api.post(
        "/v1/policies", json={"yaml": policy_yaml("exp-2", experiment=renamed)}, headers=bearer("policy:write")
    )
    assert accepted.status_code == 201, accepted.text
    # Going back to robo-for-c-1 as stored is no change; stopping it (an end date) is allowed.
    ended = EXPERIMENT.replace("salt: robo-for-c-1-salt", "salt: robo-for-c-1-salt\n    end: 2026-01-01T00:00:00Z")
    back = await api.post(
        "/v1/policies", json={"yaml": policy_yaml("exp-3", experiment=ended)}, headers=bearer("policy:write")
    )
    assert back.status_code == 201, back.text
