"""docker-compose.yml as `docker compose config` resolves it: one image for every tierflow process,
locked-down containers, pinned images, loopback-only ports, and a Prometheus that scrapes them all."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TIERFLOW = {"profile", "scoring", "routing", "notification", "routing-api", "topics", "migrate", "simulator"}
LONG_RUNNING = {"profile", "scoring", "routing", "notification", "routing-api"}
# The ops port every worker image listens on, and the API's (Dockerfile ENV).
PORTS = {"profile": 9100, "scoring": 9100, "routing": 9100, "notification": 9100, "routing-api": 8000}


@pytest.fixture(scope="module")
def services(deploy) -> dict[str, Any]:
    deploy.require_compose()
    result = deploy.run("docker", "compose", "--profile", "simulator", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def test_every_tierflow_process_is_built_from_the_one_dockerfile(services: dict[str, Any]) -> None:
    built = {name for name, service in services.items() if "build" in service}
    assert built == TIERFLOW
    for name in built:
        assert services[name]["build"] == {"context": str(REPO), "dockerfile": "Dockerfile"}, name


def test_tierflow_containers_are_locked_down_and_healthchecked(services: dict[str, Any]) -> None:
    for name in TIERFLOW:
        service = services[name]
        assert service["read_only"] is True and service["tmpfs"] == ["/tmp"], name
        assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"], name
        # Long-running processes keep the image's HEALTHCHECK; one-shot jobs switch it off.
        assert ("healthcheck" not in service) == (name in LONG_RUNNING), name
    assert services["routing-api"]["environment"]["TIERFLOW_HEALTHCHECK_URL"] == "http://127.0.0.1:8000/healthz"


def test_commands_start_real_entrypoints(services: dict[str, Any]) -> None:
    for name in TIERFLOW:
        command = services[name]["command"]
        if command[0] == "python":
            assert command[1] == "-m" and importlib.util.find_spec(command[2]), name
        else:
            assert command[0] == "tierflow" and command[1] in {"topics", "migrate", "simulate"}, name
    assert services["topics"]["command"] == ["tierflow", "topics", "--partitions", "6"]


def test_workers_wait_for_topics_and_migrations(services: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        depends = services[name]["depends_on"]
        assert depends["topics"]["condition"] == depends["migrate"]["condition"] == "service_completed_successfully"


def test_images_are_pinned_and_ports_bind_loopback_only(services: dict[str, Any]) -> None:
    for name, service in services.items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: pin the image ({service['image']})"
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port['published']} beyond this machine"


def test_kafka_is_kraft_without_auto_created_topics(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_development_secrets_only_with_the_development_environment(services: dict[str, Any]) -> None:
    for name, service in services.items():
        environment = service.get("environment") or {}
        if any("dev-only" in str(value) for value in environment.values()) and name in TIERFLOW:
            assert environment["TIERFLOW_ENV"] == "development", name


def test_simulator_runs_only_in_its_profile(deploy, services: dict[str, Any]) -> None:
    assert services["simulator"]["profiles"] == ["simulator"]
    default = deploy.run("docker", "compose", "config", "--services")
    assert default.returncode == 0 and "simulator" not in default.stdout.split()


def test_prometheus_scrapes_every_process_and_loads_the_rules(services: dict[str, Any]) -> None:
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert {f"{name}:{port}" for name, port in PORTS.items()} <= targets
    mounts = {volume["target"]: volume.get("source", "") for volume in services["prometheus"]["volumes"]}
    assert mounts["/etc/prometheus/rules"] == str(REPO / "deploy/prometheus/rules")
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_grafana_is_provisioned_with_the_dashboards(services: dict[str, Any]) -> None:
    mounts = {volume["target"]: volume.get("source", "") for volume in services["grafana"]["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == str(REPO / "deploy/grafana/provisioning")
    assert mounts["/var/lib/grafana/dashboards/tierflow"] == str(REPO / "deploy/grafana/dashboards")
    provider = yaml.safe_load((REPO / "deploy/grafana/provisioning/dashboards/tierflow.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/tierflow"
