"""docs/deploy.md's values table, the chart's values.yaml and its values.schema.json name the same keys
(the table with the same defaults), and the production-like values file sets only keys the chart knows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "deploy" / "k8s" / "tierflow" / "values.yaml"
SCHEMA = REPO / "deploy" / "k8s" / "tierflow" / "values.schema.json"
PRODUCTION = REPO / "deploy" / "k8s" / "values-production.yaml"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
WORKERS = ("profile", "scoring", "routing", "notification")
ANY_WORKER = "workers.<name>"
# Maps handed to Kubernetes (or to the environment) as they are: documented as a whole, and free-form
# in a values file.
PASSED_THROUGH = {
    "workers.<name>.resources",
    "workers.<name>.env",
    "api.resources",
    "api.env",
    "api.ingress.annotations",
    "migrations.resources",
    "serviceAccount.annotations",
    "podAnnotations",
    "podLabels",
    "nodeSelector",
    "affinity",
    "podSecurityContext",
    "securityContext",
    "playbooks",
    "monitoring.serviceMonitor.labels",
    "monitoring.prometheusRule.labels",
    "monitoring.grafanaDashboards.labels",
    "networkPolicy.monitoring.namespaceSelector",
    "networkPolicy.monitoring.podSelector",
}


def generic(path: str) -> str:
    """`workers.scoring.pdb` -> `workers.<name>.pdb`: the workers share their keys."""
    parts = path.split(".")
    if len(parts) > 1 and parts[0] == "workers" and parts[1] in WORKERS:
        return ".".join([ANY_WORKER, *parts[2:]])
    return path


def leaves(values: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every documented unit: scalars, lists, empty maps and passed-through maps."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and generic(path) not in PASSED_THROUGH:
            yield from leaves(value, f"{path}.")
        else:
            yield path, value


def documented() -> dict[str, Any]:
    """key -> default, from the table under '### Values' in docs/deploy.md."""
    section = DEPLOY_DOC.read_text().split("\n### Values\n", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]*)` \|", section, flags=re.MULTILINE)
    assert rows, "no values table in docs/deploy.md"
    keys = [key for key, _ in rows]
    assert len(keys) == len(set(keys)), "a key is documented twice"
    return {key: yaml.safe_load(default) for key, default in rows}


def test_every_key_of_values_yaml_is_documented_with_its_default() -> None:
    table = documented()
    values = yaml.safe_load(VALUES.read_text())
    found: set[str] = set()
    for path, value in leaves(values):
        key = path if path in table else generic(path)
        assert key in table, f"{path} is not in the values table of docs/deploy.md"
        assert table[key] == value, f"{path}: values.yaml says {value!r}, docs/deploy.md says {table[key]!r}"
        found.add(key)
    assert not set(table) - found, f"documented but not in values.yaml: {sorted(set(table) - found)}"
    assert set(values) == {key.split(".")[0] for key in table}, "top-level keys differ"


def test_the_workers_share_their_keys() -> None:
    workers = yaml.safe_load(VALUES.read_text())["workers"]
    assert set(workers) == set(WORKERS)
    shapes = {
        name: {generic(path) for path, _ in leaves(worker, f"workers.{name}.")} for name, worker in workers.items()
    }
    assert all(shape == shapes["profile"] for shape in shapes.values()), shapes


def test_production_values_set_only_keys_the_chart_knows() -> None:
    known = {generic(path) for path, _ in leaves(yaml.safe_load(VALUES.read_text()))}
    for path, _ in leaves(yaml.safe_load(PRODUCTION.read_text())):
        key = generic(path)
        covered = key in known or any(key.startswith(f"{passed}.") for passed in PASSED_THROUGH)
        assert covered, f"values-production.yaml sets {path}, which the chart does not know"


def schema_paths(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of values.schema.json: into closed objects (no additional properties), down to the rest."""
    if "$ref" in node:
        node = schema["definitions"][node["$ref"].removeprefix("#/definitions/")]
    if node.get("type") == "object" and node.get("additionalProperties") is False:
        for key, child in node["properties"].items():
            yield from schema_paths(schema, child, f"{prefix}{key}.")
    else:
        yield prefix.removesuffix(".")


def test_the_schema_describes_exactly_the_keys_of_values_yaml() -> None:
    schema = json.loads(SCHEMA.read_text())
    in_schema = {generic(path) for path in schema_paths(schema, schema)} - {"global"}
    in_values = {generic(path) for path, _ in leaves(yaml.safe_load(VALUES.read_text()))}
    assert in_schema == in_values, {"schema only": in_schema - in_values, "values.yaml only": in_values - in_schema}
