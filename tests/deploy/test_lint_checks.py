"""`make lint-deploy`'s checks run in the suite too, and each checker provably rejects a broken input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

TOOLS_BY_CHECK = {
    "helm": ("helm", "kubernetes-validate"),
    "compose": (),
    "prometheus": ("promtool",),
    "dashboards": (),
}


@pytest.mark.parametrize("check", sorted(TOOLS_BY_CHECK))
def test_lint_deploy_check_passes(deploy, check: str) -> None:
    for tool in TOOLS_BY_CHECK[check]:
        deploy.require(tool)
    if check == "compose":
        deploy.require_compose()
    result = deploy.run("bash", "deploy/scripts/lint.sh", check)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"deploy checks passed: {check}" in result.stdout


def test_kubernetes_validate_strict_rejects_an_unknown_field(deploy) -> None:
    validator = deploy.require("kubernetes-validate")
    rendered = deploy.run(deploy.require("helm"), "template", "tierflow", "deploy/k8s/tierflow").stdout
    broken = rendered.replace("terminationGracePeriodSeconds:", "terminationGracePeriod:", 1)
    assert broken != rendered
    assert deploy.run(validator, "--strict", "--quiet", "-", input_text=rendered).returncode == 0
    result = deploy.run(validator, "--strict", "--quiet", "-", input_text=broken)
    assert result.returncode != 0
    assert "terminationGracePeriod" in result.stdout + result.stderr


def test_promtool_test_rules_fails_a_wrong_expectation(deploy, tmp_path: Path) -> None:
    promtool = deploy.require("promtool")
    original = (deploy.repo / "deploy/prometheus/tests/target-down.test.yml").read_text()
    rules = deploy.repo / "deploy/prometheus/rules/tierflow-alerts.yml"
    wrong = original.replace("../rules/tierflow-alerts.yml", str(rules)).replace("severity: critical", "severity: info")
    (tmp_path / "wrong.test.yml").write_text(wrong)
    result = deploy.run(promtool, "test", "rules", str(tmp_path / "wrong.test.yml"))
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_docker_compose_config_rejects_an_unknown_dependency(deploy, tmp_path: Path) -> None:
    deploy.require_compose()
    compose = (deploy.repo / "docker-compose.yml").read_text()
    broken = compose.replace("postgres: {condition: service_healthy}", "postgress: {condition: service_healthy}")
    assert broken != compose
    (tmp_path / "docker-compose.yml").write_text(broken)
    result = deploy.run(
        "docker", "compose", "--project-directory", str(deploy.repo), "-f", str(tmp_path / "docker-compose.yml"),
        "config", "--quiet",
    )  # fmt: skip
    assert result.returncode != 0
    assert "postgress" in result.stderr


def test_the_chart_is_validated_against_the_oldest_kubernetes_it_supports(deploy) -> None:
    chart = yaml.safe_load((deploy.repo / "deploy/k8s/tierflow/Chart.yaml").read_text())
    (oldest,) = re.findall(r"^KUBE_MIN=(\S+)", (deploy.repo / "deploy/scripts/lint.sh").read_text(), flags=re.MULTILINE)
    assert chart["kubeVersion"] == f">={oldest}-0"
