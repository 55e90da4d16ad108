"""The experiment `make run` starts (docs/experiments.md, "The demo experiment in make run"): the shipped routing
policy plus a global holdout and one experiment, uploaded through the API as an analyst would, and the live
outcome counts its status line shows."""

from __future__ import annotations

import contextlib

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tierflow_common.auth import mint_token
from tierflow_routing.domain.policy import DEFAULT_ROUTING_POLICY_FILE, parse_routing_policy

DEMO_VERSION = "routing-default-2026.11-demo"
DEMO_EXPERIMENT = "demo-robo-for-plain-c"
DEMO_HOLDOUT = "demo-holdout"
DEMO_SECTION = f"""
# The demo (make run): a tenth of everyone held out of marketing, and plain C customers split between
# community (the rule's own flow) and the robo-advisor.
holdout: {{id: {DEMO_HOLDOUT}, salt: {DEMO_HOLDOUT}, share: 0.1}}
experiments:
  - id: {DEMO_EXPERIMENT}
    description: does the robo-advisor keep plain C customers more active than community?
    salt: {DEMO_EXPERIMENT}
    population: {{rules: [default], when: {{tier: [C]}}, share: 1.0}}
    arms:
      - {{name: control, weight: 1}}
      - {{name: robo, weight: 1, flow: robo_advisor}}
"""


def demo_policy_yaml() -> str:
    """The shipped routing policy under the demo version, with the demo holdout and experiment."""
    shipped = DEFAULT_ROUTING_POLICY_FILE.read_text(encoding="utf-8")
    original = parse_routing_policy(shipped).version
    document = shipped.replace(f"version: {original}", f"version: {DEMO_VERSION}", 1) + DEMO_SECTION
    assert parse_routing_policy(document).version == DEMO_VERSION  # valid as a whole, as the API will check
    return document


async def upload_demo_policy(api: str, jwt_secret: str) -> str:
    """Upload and activate the demo policy (scope policy:write); a sentence for the banner."""
    token = mint_token(secret=jwt_secret, subject="make-run", scopes=["policy:write"], ttl_s=600)
    async with httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {token}"}) as client:
        with contextlib.suppress(httpx.HTTPError):
            response = await client.post("/v1/policies", json={"yaml": demo_policy_yaml()})
            if response.is_success:
                return f"{DEMO_EXPERIMENT} (control / robo for plain C) and a 10% holdout, policy {DEMO_VERSION}"
            return f"not started: HTTP {response.status_code} {response.text[:200]}"
    return "not started: the routing API did not answer"


ARM_COUNTS = """
    SELECT baseline->'experiment'->>1 AS arm,
           count(*) AS decided,
           count(*) FILTER (WHERE facts->>'first_login_at' IS NOT NULL OR facts->>'first_trade_at' IS NOT NULL)
             AS active
    FROM {schema}.decision_outcomes
    WHERE window_days = 7 AND superseded_at IS NULL AND baseline->'experiment'->>0 IN (:experiment, :holdout)
    GROUP BY 1
"""


async def demo_outcome_counts(conn: AsyncConnection, *, schema: str = "routing") -> str:
    """Per arm: decisions in force (their 7-day windows) and how many of those customers logged in or traded
    since, as the outcomes component folds them in (the windows mature after 7 days; these are running)."""
    query = text(ARM_COUNTS.format(schema=schema))  # a schema name from settings, never from a request
    rows = await conn.execute(query, {"experiment": DEMO_EXPERIMENT, "holdout": DEMO_HOLDOUT})
    counts = {arm: (decided, active) for arm, decided, active in rows.all()}
    if not counts:
        return "demo experiment: no decision yet"
    parts = [f"{arm} {active}/{decided}" for arm, (decided, active) in sorted(counts.items())]
    return "active since decision " + " ".join(parts)
