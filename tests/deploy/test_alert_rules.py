"""Every alert is unit-tested by promtool (firing and quiet), documented, and queries real metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PROMTOOL_TESTS = REPO / "deploy" / "prometheus" / "tests"
OBSERVABILITY_DOC = REPO / "docs" / "observability.md"


def _expectations() -> dict[str, list[list[Any]]]:
    """alertname -> the exp_alerts lists of every promtool case that evaluates it."""
    found: dict[str, list[list[Any]]] = {}
    for path in PROMTOOL_TESTS.glob("*.test.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                found.setdefault(check["alertname"], []).append(check.get("exp_alerts") or [])
    return found


def _doc_anchors() -> set[str]:
    """GitHub-style anchors of the headings in docs/observability.md."""
    headings = re.findall(r"^#+ (.+)$", OBSERVABILITY_DOC.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_every_alert_has_a_firing_and_a_quiet_promtool_case(alert_rules: list[dict[str, Any]]) -> None:
    expectations = _expectations()
    for rule in alert_rules:
        cases = expectations.get(rule["alert"], [])
        assert any(cases), f"{rule['alert']}: no promtool case where it fires"
        assert any(not alerts for alerts in cases), f"{rule['alert']}: no promtool case where it stays quiet"
    assert set(expectations) <= {rule["alert"] for rule in alert_rules}, "a promtool case names an unknown alert"


def test_every_alert_has_a_severity_and_a_documented_runbook(alert_rules: list[dict[str, Any]]) -> None:
    anchors = _doc_anchors()
    for rule in alert_rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/observability.md" and anchor in anchors, f"{rule['alert']}: no heading for #{anchor}"


def test_alert_rules_query_only_exported_metrics(alert_rules, exported_series, promql) -> None:
    for rule in alert_rules:
        unknown = promql(rule["expr"]) - exported_series
        assert not unknown, f"{rule['alert']} queries metrics no service exports: {sorted(unknown)}"
