"""Fixtures for the deployment tests: where the artifacts are, the tools that check them, and the
metric names the services really export (what dashboards and alert rules may query)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from tierflow_testing.plugin import unavailable

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tierflow" / "tools"
INSTALL_HINT = "run deploy/scripts/install-tools.sh (make lint-deploy does)"

# The modules whose import registers every tierflow metric (bootstraps pull in the consumer loop,
# the sweeper and the HTTP middleware).
METRIC_MODULES = (
    "tierflow_common.metrics",
    "tierflow_common.http_metrics",
    "tierflow_profile.bootstrap",
    "tierflow_scoring.bootstrap",
    "tierflow_scoring.metrics",
    "tierflow_routing.bootstrap",
    "tierflow_routing.metrics",
    "tierflow_routing.api.app",
    "tierflow_notification.bootstrap",
    "tierflow_notification.metrics",
)
# Series Prometheus makes itself; dashboards may use them too.
PROMETHEUS_SERIES = frozenset({"up"})
# Grafana variables, replaced by plausible values before a query is parsed or sent to Prometheus.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$service": ".*",
    "$branch": ".*",
}


class DeployTools:
    """The deploy checkers (helm, kubernetes-validate, docker compose, promtool, prometheus) and how to run them."""

    repo = REPO

    def require(self, name: str) -> str:
        """The path of a tool; a missing one fails under CI=true and is a visible skip elsewhere."""
        found = shutil.which(name, path=self._path())
        if found:
            return found
        unavailable(f"{name} is not installed: {INSTALL_HINT}")

    def require_compose(self) -> None:
        """The docker client and the compose plugin install-tools.sh links under .tierflow/tools."""
        self.require("docker")
        if not (TOOLS / "docker" / "cli-plugins" / "docker-compose").exists():
            unavailable(f"the docker compose plugin is not installed: {INSTALL_HINT}")

    def run(self, *command: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command from the repository root with the project's tools first on PATH; never raises."""
        return subprocess.run(
            command,
            cwd=REPO,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PATH": self._path(), "DOCKER_CONFIG": str(TOOLS / "docker")},
        )

    def render_chart(self, *args: str) -> list[dict[str, Any]]:
        """`helm template` of the chart with extra arguments, as a list of objects."""
        result = self.run(self.require("helm"), "template", "tierflow", "deploy/k8s/tierflow", *args)
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    @staticmethod
    def _path() -> str:
        return os.pathsep.join([str(TOOLS / "bin"), str(REPO / ".venv" / "bin"), os.environ.get("PATH", "")])


def exported_series_names() -> frozenset[str]:
    """Every series name the services can expose, derived from each metric's type.

    prometheus_client reports a counter `x_total` as family `x` with samples `x_total` and
    `x_created`, and a histogram `h` as `h_bucket`, `h_sum`, `h_count` and `h_created`. Deriving
    names per type (rather than stripping suffixes from a query) means `tierflow_api_requests_bucket`
    or `tierflow_batch_size_total` are rejected: they do not exist.
    """
    import importlib

    from prometheus_client import REGISTRY

    for module in METRIC_MODULES:
        importlib.import_module(module)
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "info": ("_info",),
    }
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("tierflow_"):
            names.update(family.name + suffix for suffix in suffixes[family.type])
    return frozenset(names)


def substitute_grafana_variables(expr: str) -> str:
    """A panel query with Grafana's variables replaced, ready for a PromQL parser or Prometheus."""
    for variable, value in sorted(GRAFANA_VARIABLES.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}: add it to GRAFANA_VARIABLES"
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (by name or by a __name__ matcher)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            names.update(m.value for m in node.matchers.matchers if m.name == "__name__")

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


@pytest.fixture(scope="session")
def exported_series() -> frozenset[str]:
    return exported_series_names() | PROMETHEUS_SERIES


@pytest.fixture(scope="session")
def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of deploy/prometheus/rules, as parsed YAML."""
    rules = []
    for path in sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(rule for rule in group["rules"] if "alert" in rule)
    return rules


@pytest.fixture(scope="session")
def deploy() -> DeployTools:
    return DeployTools()


@pytest.fixture(scope="session")
def promql() -> Callable[[str], set[str]]:
    """metric_names(expr): the metric names a PromQL expression selects."""
    return metric_names


@pytest.fixture(scope="session")
def grafana_query() -> Callable[[str], str]:
    """substitute_grafana_variables(expr): a panel query ready for a parser or Prometheus."""
    return substitute_grafana_variables
