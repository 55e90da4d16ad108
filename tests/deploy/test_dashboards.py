"""The Grafana dashboards: they load with grafana-foundation-sdk, every query parses and names a
metric the services export, and each dashboard covers what operators watch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
NAMES = ("pipeline", "business", "api", "advisors")

# What each dashboard must show (the list), as the metrics behind it.
REQUIRED_METRICS = {
    "pipeline": {
        "tierflow_events_consumed_total",  # throughput
        "tierflow_events_processed_total",
        "tierflow_consumer_lag",  # lag
        "tierflow_events_dead_lettered_total",  # DLQ
        "tierflow_processing_latency_seconds_bucket",  # processing latency
        "tierflow_review_lag_seconds",  # the sweeper
    },
    "business": {
        "tierflow_scoring_customers",  # tier mix, churn bands
        "tierflow_scoring_tier_transitions_total",
        "tierflow_scoring_churn_band_transitions_total",
        "tierflow_routing_customers",  # flows
        "tierflow_routing_decisions_total",
        "tierflow_routing_advisor_load",  # advisor load
        "tierflow_routing_advisor_capacity",
        "tierflow_routing_waitlist",
        "tierflow_notifications_total",  # sent, deferred, suppressed by reason
    },
    "advisors": {
        "tierflow_routing_advisor_info",  # the branch variable and every join
        "tierflow_routing_advisor_book",  # book by tier per branch
        "tierflow_routing_advisor_book_aum",
        "tierflow_routing_advisor_book_net_inflow_90d",
        "tierflow_service_ontime_tasks",  # coverage per branch
        "tierflow_service_promised_tasks",
    },
    "api": {
        "tierflow_api_requests_total",  # rate, errors by route and status
        "tierflow_api_request_duration_seconds_bucket",  # latency percentiles
        "tierflow_api_rate_limited_total",
        "tierflow_route_cache_operations_total",
    },
}


def load(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS / f"{name}.json").read_text())


def queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every panel target, plus the query variables' metric lookups."""
    found = [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel.get("targets", [])]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            # label_values(metric, label): the metric must exist for the picker to fill.
            metric = variable["query"].removeprefix("label_values(").split(",")[0]
            found.append((f"variable {variable['name']}", metric))
    return found


def test_the_dashboard_files_are_exactly_the_generated_ones() -> None:
    assert sorted(p.stem for p in DASHBOARDS.glob("*.json")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_loads_with_the_sdk(name: str) -> None:
    register_default_plugins()
    raw = load(name)
    model = Dashboard.from_json(raw)
    assert model.uid == f"tierflow-{name}" and model.title
    assert json.loads(json.dumps(model.to_json(), default=lambda o: o.to_json()))["panels"] == raw["panels"]
    panel_ids = [panel["id"] for panel in raw["panels"]]
    assert len(panel_ids) == len(set(panel_ids)), "panel ids must be unique"
    for panel in raw["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"] and panel.get("description"), panel["title"]


@pytest.mark.parametrize("name", NAMES)
def test_every_query_names_an_exported_metric(name: str, exported_series, promql, grafana_query) -> None:
    used: set[str] = set()
    for title, expr in queries(load(name)):
        names = promql(grafana_query(expr))
        assert names, f"{name} / {title}: the query selects no metric"
        unknown = names - exported_series
        assert not unknown, f"{name} / {title}: no service exports {sorted(unknown)}"
        used |= names
    missing = REQUIRED_METRICS[name] - used
    assert not missing, f"the {name} dashboard does not show {sorted(missing)}"


def test_exported_names_follow_each_metric_type(exported_series: frozenset[str]) -> None:
    # A counter is exposed with _total, a histogram as _bucket/_sum/_count, a gauge as itself;
    # nothing else is accepted, so a query on a misspelt suffix fails the test above.
    assert {"tierflow_api_requests_total", "tierflow_api_request_duration_seconds_bucket"} <= exported_series
    assert {"tierflow_batch_size_sum", "tierflow_batch_size_count", "tierflow_consumer_lag"} <= exported_series
    assert (
        not {
            "tierflow_api_requests",
            "tierflow_api_requests_bucket",
            "tierflow_batch_size",
            "tierflow_batch_size_total",
            "tierflow_consumer_lag_total",
            "tierflow_api_request_duration_seconds",
        }
        & exported_series
    )


def test_metric_names_reads_names_from_selectors_and_name_matchers(promql) -> None:
    expr = 'sum(rate(a_total{x="1"}[5m])) / on () group_left count({__name__="b_bucket"}) + absent(c)'
    assert promql(expr) == {"a_total", "b_bucket", "c"}
