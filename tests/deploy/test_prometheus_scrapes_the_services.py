"""A real Prometheus (the Debian package) scrapes the running services under the job names of
deploy/prometheus/prometheus.yml: every target is up, the key series exist with the labels the
rules and dashboards select on, and every alert rule evaluates without error and stays quiet.

The four workers and the routing API run as separate processes in a private namespace over the real
broker, PostgreSQL and Redis; everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tierflow_cli.services import API, MIGRATIONS, WORKERS
from tierflow_common.events import topics
from tierflow_common.infra.embedded import free_port
from tierflow_notification.settings import NotificationSettings
from tierflow_profile.settings import ProfileSettings
from tierflow_routing.api.security import mint_token
from tierflow_routing.settings import RoutingSettings
from tierflow_scoring.settings import ScoringSettings
from tierflow_testing import builders as b
from tierflow_testing.kafka import produce, wait_until
from tierflow_testing.plugin import Namespace, migrate
from tierflow_testing.processes import log_tails, start_service, terminate

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
COMPOSE_PROMETHEUS = REPO / "deploy" / "prometheus" / "prometheus.yml"
RULES = REPO / "deploy" / "prometheus" / "rules"
SECRET = "prometheus-test-secret-0123456789-abcdef"
SETTINGS = {
    "profile": ProfileSettings,
    "scoring": ScoringSettings,
    "routing": RoutingSettings,
    "notification": NotificationSettings,
}
CUSTOMERS = {"PROM-A": "12500000.00", "PROM-B": "6000000.00", "PROM-C": "80000.00"}
ROUTE = "/v1/customers/{customer_id}/route"


def compose_jobs() -> dict[str, str]:
    """Job name -> process name ("tierflow-routing-api" -> "routing-api"), as docker compose scrapes them."""
    config = yaml.safe_load(COMPOSE_PROMETHEUS.read_text())
    jobs = [job["job_name"] for job in config["scrape_configs"] if job["job_name"].startswith("tierflow-")]
    return {job: job.removeprefix("tierflow-") for job in jobs}


@pytest.fixture
def prometheus_binary(deploy) -> str:
    """The Debian package's server; missing, it fails under CI=true and is a visible skip elsewhere."""
    return deploy.require("prometheus")


@pytest.fixture
async def services(prometheus_binary: str, ns: Namespace, tmp_path: Path) -> AsyncIterator[dict[str, int]]:
    """The four workers and the routing API as processes; yields process name -> its /metrics port."""
    for service, (directory, _) in MIGRATIONS.items():
        await migrate(ns.settings(SETTINGS[service], service), directory)  # type: ignore[arg-type]
    ports = {spec.name: free_port() for spec in (*WORKERS, API)}
    processes = []
    for spec in (*WORKERS, API):
        service = "routing" if spec is API else spec.name
        env = {
            **ns.env(spec.env_prefix, service),
            "TIERFLOW_ROUTING_JWT_SECRET": SECRET,
            "TIERFLOW_ROUTING_CACHE_NAMESPACE": f"{ns.name}:",
        }
        if spec is API:
            env |= {"TIERFLOW_ROUTING_API_HOST": "127.0.0.1", "TIERFLOW_ROUTING_API_PORT": str(ports[spec.name])}
        else:
            env |= {f"{spec.env_prefix}OPS_HOST": "127.0.0.1", f"{spec.env_prefix}OPS_PORT": str(ports[spec.name])}
        processes.append(start_service(spec.module, *spec.args, env=env, log=tmp_path / f"{spec.name}.log"))
    try:
        async with httpx.AsyncClient() as client:
            for name, port in ports.items():
                await wait_until(
                    lambda port=port: _answers(client, f"http://127.0.0.1:{port}/readyz"),
                    timeout_s=60,
                    what=f"{name} to be ready",
                )
        yield ports
    finally:
        codes = [_stop(process) for process in processes]
        assert codes == [0] * len(processes), log_tails(tmp_path)


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM and wait for the drain; a process that does not exit in time is killed (exit code None)."""
    try:
        return terminate(process)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return None


@pytest.fixture
async def prometheus(prometheus_binary: str, services: dict[str, int], tmp_path: Path) -> AsyncIterator[str]:
    """Prometheus scraping every process each second, with the alert rules loaded; yields its base URL."""
    jobs = compose_jobs()
    assert sorted(jobs.values()) == sorted(services), "deploy/prometheus/prometheus.yml scrapes other processes"
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in sorted(RULES.glob("*.yml"))],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{services[process]}"]}]}
            for job, process in jobs.items()
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with _running_prometheus(prometheus_binary, port, tmp_path) as process:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as client:

            async def ready() -> bool:
                assert process.poll() is None, log_tails(tmp_path, "prometheus.log")
                return await _answers(client, f"{base}/-/ready")

            await wait_until(ready, timeout_s=30, what="prometheus to be ready")
        yield base


@contextlib.contextmanager
def _running_prometheus(binary: str, port: int, directory: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The prometheus binary on loopback, stopped by its own PID on exit."""
    command = [
        binary,
        f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with (directory / "prometheus.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield process
    finally:
        _stop(process)


async def _answers(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url, timeout=2)).status_code == 200
    except httpx.TransportError:
        return False


def _token(*scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret=SECRET, subject='prometheus-test', scopes=list(scopes))}"}


async def _query(client: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    """An instant query's result vector."""
    response = await client.get("/api/v1/query", params={"query": expr})
    body = response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


async def _feed_the_pipeline(ns: Namespace, api_port: int) -> None:
    """A few customers' events in; their routes read through the API, plus one refused request."""
    bootstrap, now = ns.infra.kafka_bootstrap, datetime.now(UTC)
    events = {
        topics.CUSTOMER: [b.customer(customer_id, now - timedelta(days=200)) for customer_id in CUSTOMERS],
        topics.BALANCE: [b.balance(c, assets, now - timedelta(hours=2)) for c, assets in CUSTOMERS.items()],
        topics.TRADE: [b.trade(customer_id, now - timedelta(days=1)) for customer_id in CUSTOMERS],
        topics.LOGIN: [b.login(customer_id, now - timedelta(hours=1)) for customer_id in CUSTOMERS],
    }
    for topic, batch in events.items():
        await produce(bootstrap, ns.topics.name(topic), batch)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as api:

        async def all_routed() -> bool:
            for customer_id in CUSTOMERS:
                response = await api.get(f"/v1/customers/{customer_id}/route", headers=_token("route:read"))
                if response.status_code != 200:
                    return False
            return True

        await wait_until(all_routed, timeout_s=90, what="every customer routed")
        assert (await api.get("/v1/customers/PROM-A/route")).status_code == 401


# What must be scraped, as (PromQL grouped by labels, the label values expected among the results).
# Pipeline series must carry the `service` label of the job they come from: the alert rules and
# dashboards group by it and the workers' lag HPA selects on it.
PER_WORKER = {(f"tierflow-{spec.name}", spec.name) for spec in WORKERS}
KEY_SERIES = {
    "events processed, per worker": ("count by (job, service) (tierflow_events_processed_total)", PER_WORKER),
    "consumer lag, per worker": ("count by (job, service) (tierflow_consumer_lag)", PER_WORKER),
    "API requests by route template and status": (
        f'count by (job, route, status) (tierflow_api_requests_total{{route="{ROUTE}"}})',
        {("tierflow-routing-api", ROUTE, "200"), ("tierflow-routing-api", ROUTE, "401")},
    ),
    "API latency histogram": (
        f'count by (job) (tierflow_api_request_duration_seconds_bucket{{route="{ROUTE}"}})',
        {("tierflow-routing-api",)},
    ),
    "scoring customers per tier": ("count by (job) (tierflow_scoring_customers)", {("tierflow-scoring",)}),
    "routing decisions": ("count by (job) (tierflow_routing_decisions_total)", {("tierflow-routing",)}),
    "notifications": ("count by (job) (tierflow_notifications_total)", {("tierflow-notification",)}),
}


async def test_every_target_is_up_and_the_key_series_exist(
    ns: Namespace, services: dict[str, int], prometheus: str
) -> None:
    await _feed_the_pipeline(ns, services[API.name])
    jobs = compose_jobs()
    async with httpx.AsyncClient(base_url=prometheus) as client:

        async def every_target_up() -> bool:
            targets = (await client.get("/api/v1/targets")).json()["data"]["activeTargets"]
            return {t["labels"]["job"]: t["health"] for t in targets} == dict.fromkeys(jobs, "up")

        await wait_until(every_target_up, timeout_s=30, what="every tierflow target up")
        up = await _query(client, 'up{job=~"tierflow-.*"}')
        assert sorted((s["metric"]["job"], s["value"][1]) for s in up) == sorted((job, "1") for job in jobs)

        for what, (expr, expected) in KEY_SERIES.items():
            await _wait_for_series(client, what, expr, expected)

        async def scored_everyone() -> bool:
            total = await _query(client, "sum(max by (tier, churn_band) (tierflow_scoring_customers))")
            return bool(total) and float(total[0]["value"][1]) == len(CUSTOMERS)

        # The customers-per-tier gauge is refreshed from scoring's table every 15 s.
        await wait_until(scored_everyone, timeout_s=60, what="tierflow_scoring_customers to count every customer")
        decisions = await _query(client, 'sum(tierflow_routing_decisions_total{job="tierflow-routing"})')
        assert float(decisions[0]["value"][1]) >= len(CUSTOMERS)

        await _rules_evaluate_and_stay_quiet(client)


async def _wait_for_series(client: httpx.AsyncClient, what: str, expr: str, expected: set[tuple[str, ...]]) -> None:
    """Wait until `expr` (grouped `by (...)`) returns at least the `expected` label values; say what it found."""
    grouping = [name.strip() for name in expr.split("by (", 1)[1].split(")", 1)[0].split(",")]
    found: set[tuple[str, ...]] = set()

    async def present() -> bool:
        nonlocal found
        found = {tuple(s["metric"].get(name, "") for name in grouping) for s in await _query(client, expr)}
        return expected <= found

    try:
        await wait_until(present, timeout_s=60, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {expr} gave {sorted(found)}, expected {sorted(expected)}") from None


async def _rules_evaluate_and_stay_quiet(client: httpx.AsyncClient) -> None:
    """Every alert rule of deploy/prometheus/rules is loaded and evaluates without error; none fires."""
    expected = {
        rule["alert"]
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }

    async def evaluated() -> bool:
        groups = (await client.get("/api/v1/rules")).json()["data"]["groups"]
        rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
        errors = {name: rule["lastError"] for name, rule in rules.items() if rule["health"] == "err"}
        assert not errors, errors
        return set(rules) == expected and all(rule["health"] == "ok" for rule in rules.values())

    await wait_until(evaluated, timeout_s=30, what="every alert rule evaluated")
    alerts = (await client.get("/api/v1/alerts")).json()["data"]["alerts"]
    firing = [alert["labels"]["alertname"] for alert in alerts if alert["state"] == "firing"]
    assert not firing, f"alerts firing on a healthy system: {firing}"
