"""Backtesting a policy on real PostgreSQL and the real broker: decisions made by the worker keep their facts,
their windows mature, and the use case and `tierflow policy backtest` weigh them as computed by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.events import topics
from tierflow_routing.adapters.tables import customers as customers_table
from tierflow_routing.adapters.tables import decision_outcomes, decisions
from tierflow_routing.application.backtests import backtest_policy
from tierflow_routing.application.errors import CandidateUnsupported
from tierflow_routing.bootstrap import build
from tierflow_routing.domain.experiments import drawn_arm, holdout_assignment
from tierflow_routing.domain.facts import PolicyFacts
from tierflow_routing.domain.policy import parse_routing_policy
from tierflow_routing.settings import RoutingSettings
from tierflow_testing import builders as b
from tierflow_testing.clock import SetClock
from tierflow_testing.kafka import produce, wait_until
from tierflow_testing.plugin import Namespace, running

from .conftest import bearer
from .test_experiments import EXPERIMENT, policy_yaml

pytestmark = pytest.mark.integration

T = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
# the experiments test's policy, without the robo arm's playbook (a candidate's plain robo needs plain robo logged)
LOGGING_YAML = policy_yaml("bt-log-1", experiment=EXPERIMENT.replace(", playbook: robo_guided", ""))
LOGGING = parse_routing_policy(LOGGING_YAML)  # C: control / robo 50:50; 20% held out first
CANDIDATE_ROBO = """version: bt-robo
rules:
  - name: a_private_advisor
    when: {tier: [A]}
    then: {flow: private_advisor}
  - name: default
    then: {flow: robo_advisor}
"""
CANDIDATE_PRIVATE = CANDIDATE_ROBO.replace("bt-robo", "bt-private").replace("robo_advisor", "private_advisor")


def customers(arm: str, count: int) -> list[str]:
    """Customer ids the hash puts in `arm` (or, for "holdout", in the holdout)."""
    found: list[str] = []
    for n in range(10_000):
        customer_id = f"BT{n:05d}"
        held = holdout_assignment(LOGGING.holdout, customer_id) is not None
        drawn = drawn_arm(LOGGING.experiments[0], customer_id)
        if (arm == "holdout" and held) or (not held and drawn is not None and drawn.name == arm):
            found.append(customer_id)
        if len(found) == count:
            return found
    raise AssertionError(arm)


ROBO, CONTROL, HELD = customers("robo", 4), customers("control", 4), customers("holdout", 4)
# An A customer outside the holdout: the policy wants an advisor; none is registered, so robo_advisor it is.
A = next(f"BTA{n}" for n in range(100) if holdout_assignment(LOGGING.holdout, f"BTA{n}") is None)
TRADERS = {ROBO[0], ROBO[1], CONTROL[0]}  # trade again on day 3


async def test_decisions_keep_their_facts_and_a_candidate_is_backtested_on_them(
    ns: Namespace, settings: RoutingSettings, api: httpx.AsyncClient, database: AsyncEngine, tmp_path: Path
) -> None:
    uploaded = await api.post("/v1/policies", json={"yaml": LOGGING_YAML}, headers=bearer("policy:write"))
    assert uploaded.status_code == 201, uploaded.text  # active before the worker starts: every decision is under it
    everyone = [*ROBO, *CONTROL, *HELD, A]
    clock = SetClock(T)
    async with running(build(settings, clock=clock)):
        profiles = [b.profile_updated(c, 1, at=T, total_assets="100", region="shenzhen") for c in everyone]
        scores = [
            b.score_changed(c, 1, "A" if c == A else "C", at=T + timedelta(minutes=1), churn_band="low")
            for c in everyone
        ]
        await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.PROFILE), profiles)
        await wait_until(lambda: profiled(database, 13), timeout_s=30, what="13 profiles")  # then decide on scores
        await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.SCORE), scores)
        await wait_until(lambda: logged(database, 13), timeout_s=30, what="13 decisions")
        day3 = T + timedelta(days=3)
        trades = [b.profile_updated(c, 2, at=day3, total_assets="100", region="shenzhen", last_trade_at=day3)
                  for c in sorted(TRADERS)]  # fmt: skip
        await produce(ns.infra.kafka_bootstrap, ns.topics.name(topics.PROFILE), trades)
        await wait_until(lambda: traded(database), timeout_s=30, what="the trades folded into the windows")
        clock.moment = T + timedelta(days=31, hours=2)  # past day 30 and the hour of grace
        await wait_until(lambda: matured(database, 13), timeout_s=60, what="13 matured 30-day windows")

    async with database.connect() as conn:
        rows = (await conn.execute(select(decisions.c.customer_id, decisions.c.flow, decisions.c.facts))).all()
    assert len(rows) == 13 and all(row.facts is not None for row in rows)
    kept = msgspec.msgpack.decode(rows[0].facts, type=PolicyFacts)
    assert (kept.tier, kept.churn_band, kept.region, kept.profile_version, kept.score_version) == (
        "C",
        "low",
        "shenzhen",
        1,
        1,
    )
    assert {row.customer_id for row in rows if row.flow == "robo_advisor"} == {*ROBO, A}  # A: capacity fallback

    result = await backtest_policy(database, parse_routing_policy(CANDIDATE_ROBO), window_days=30)
    # By hand: the robo arm had p = 0.8 * 0.5 = 0.4 of the candidate's action, so weight 2.5; control and the
    # holdout 0. A's private_advisor (undone from the capacity fallback) had p = 0.8 outside the holdout: 1.25.
    assert (result.decisions, result.supported, result.skipped, result.unsupported) == (13, 13, {}, ())
    traded_again = {e.outcome: e for e in result.estimates}["traded_again"]
    assert traded_again.n == 13 and traded_again.logged == pytest.approx(3 / 13)
    assert traded_again.ipw.value == pytest.approx(2 * 2.5 / 13)
    assert traded_again.snipw is not None and traded_again.snipw.value == pytest.approx(5 / 11.25)
    assert traded_again.effective_sample_size == pytest.approx(11.25**2 / (4 * 2.5**2 + 1.25**2))
    assert result.mean_weight == pytest.approx(11.25 / 13)

    with pytest.raises(CandidateUnsupported, match="rule default: candidate private_advisor/normal, logged"):
        await backtest_policy(database, parse_routing_policy(CANDIDATE_PRIVATE), window_days=30)

    # The CLI, as an analyst runs it, on this schema.
    (tmp_path / "robo.yaml").write_text(CANDIDATE_ROBO)
    (tmp_path / "private.yaml").write_text(CANDIDATE_PRIVATE)
    shown = cli(settings, tmp_path, "robo.yaml", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    by_outcome = {e["outcome"]: e for e in document["estimates"]}
    assert document["decisions"] == 13 and by_outcome["traded_again"]["ipw"]["value"] == pytest.approx(5 / 13)
    refused = cli(settings, tmp_path, "private.yaml")
    assert refused.returncode == 2, refused.stdout
    assert "no support" in refused.stderr and "rule default: candidate private_advisor/normal" in refused.stderr
    table = cli(settings, tmp_path, "private.yaml", "--supported-only", "--window", "7")
    assert table.returncode == 0, table.stderr
    assert "SUPPORTED DECISIONS ONLY" in table.stdout and "estimated on 1" in table.stdout  # A only
    assert "traded_again" in table.stdout


async def logged(database: AsyncEngine, want: int) -> bool:
    async with database.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(decisions))).scalar_one()) == want


async def profiled(database: AsyncEngine, want: int) -> bool:
    t = customers_table
    async with database.connect() as conn:
        query = select(func.count()).where(t.c.profile_version >= 1)
        return int((await conn.execute(query)).scalar_one()) == want


async def traded(database: AsyncEngine) -> bool:
    async with database.connect() as conn:
        rows = await conn.execute(select(decision_outcomes.c.customer_id, decision_outcomes.c.facts))
        return {r.customer_id for r in rows if r.facts.get("first_trade_at")} == TRADERS


async def matured(database: AsyncEngine, want: int) -> bool:
    t = decision_outcomes
    async with database.connect() as conn:
        query = select(func.count()).where(t.c.window_days == 30, t.c.status == "matured")
        return int((await conn.execute(query)).scalar_one()) == want


def cli(settings: RoutingSettings, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": settings.infra.database_url.get_secret_value(), "COLUMNS": "200"}
    env["TIERFLOW_STATE_DIR"] = str(cwd / ".tierflow")
    command = [sys.executable, "-m", "tierflow_cli", "policy", "backtest", *args, "--schema", settings.db_schema]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
