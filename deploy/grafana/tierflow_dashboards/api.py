"""Routing API: request rate, errors, latency percentiles, rate limiting, the route cache."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as models

from tierflow_dashboards.panels import NOT_OPS_ROUTE, RATE, Query, build, new_dashboard, stat_panel, timeseries_panel

REQUESTS = f"tierflow_api_requests_total{{{NOT_OPS_ROUTE}}}"
SERVER_ERRORS = f'tierflow_api_requests_total{{{NOT_OPS_ROUTE}, status=~"5.."}}'


def _latency(q: str) -> Query:
    return Query(
        f"histogram_quantile({q}, sum by (route, le) "
        f"(rate(tierflow_api_request_duration_seconds_bucket{{{NOT_OPS_ROUTE}}}[{RATE}])))",
        f"{{{{route}}}} p{q[2:].ljust(2, '0')}",
    )


def api_dashboard() -> models.Dashboard:
    board = (
        new_dashboard(
            "tierflow-api",
            "tierflow / Routing API",
            "What front ends see: request rate, errors and latency by route; rate limiting and the route cache.",
        )
        .with_row(dashboard.Row("Overview"))
        .with_panel(
            stat_panel(
                "API replicas up",
                "Routing API processes Prometheus scrapes successfully.",
                Query('sum(up{job="tierflow-routing-api"})', instant=True),
            )
        )
        .with_panel(
            stat_panel(
                "Requests / s",
                "All routes but the ops endpoints.",
                Query(f"sum(rate({REQUESTS}[{RATE}]))"),
                unit="reqps",
            )
        )
        .with_panel(
            stat_panel(
                "5xx ratio",
                "Server errors over all requests (ops endpoints excluded). The alert fires above 1%.",
                Query(f"sum(rate({SERVER_ERRORS}[{RATE}])) / sum(rate({REQUESTS}[{RATE}]))"),
                unit="percentunit",
            )
        )
        .with_panel(
            stat_panel(
                "Route cache hit ratio",
                "Route reads answered from Redis; misses fall back to PostgreSQL.",
                Query(
                    f'sum(rate(tierflow_route_cache_operations_total{{operation="get", result="hit"}}[{RATE}]))'
                    f' / sum(rate(tierflow_route_cache_operations_total{{operation="get"}}[{RATE}]))'
                ),
                unit="percentunit",
            )
        )
        .with_row(dashboard.Row("Traffic and errors"))
        .with_panel(
            timeseries_panel(
                "Requests / s by route and status",
                "By route template, so customer ids never become labels.",
                [Query(f"sum by (route, status) (rate({REQUESTS}[{RATE}]))", "{{route}} {{status}}")],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries_panel(
                "Error ratio by route",
                "5xx over all requests of the route; 4xx (bad tokens, unknown customers) shown separately.",
                [
                    Query(
                        f"sum by (route) (rate({SERVER_ERRORS}[{RATE}])) / sum by (route) (rate({REQUESTS}[{RATE}]))",
                        "{{route}} 5xx",
                    ),
                    Query(
                        f'sum by (route) (rate(tierflow_api_requests_total{{{NOT_OPS_ROUTE}, status=~"4.."}}[{RATE}]))'
                        f" / sum by (route) (rate({REQUESTS}[{RATE}]))",
                        "{{route}} 4xx",
                    ),
                ],
                unit="percentunit",
            )
        )
        .with_panel(
            timeseries_panel(
                "Rate limited / s by route",
                "Requests refused with 429.",
                [Query(f"sum by (route) (rate(tierflow_api_rate_limited_total[{RATE}]))", "{{route}}")],
                unit="reqps",
            )
        )
        .with_panel(
            timeseries_panel(
                "Route cache operations / s",
                "get: hit or miss; put: ok, error or skipped. Errors mean Redis is down;"
                " answers then come from PostgreSQL.",
                [
                    Query(
                        f"sum by (operation, result) (rate(tierflow_route_cache_operations_total[{RATE}]))",
                        "{{operation}} {{result}}",
                    )
                ],
                unit="ops",
            )
        )
        .with_row(dashboard.Row("Latency"))
        .with_panel(
            timeseries_panel(
                "Latency p50, p95, p99 by route",
                "Front ends need answers in milliseconds at app-open peaks (9:15-9:30);"
                " the alert fires on p99 above 100 ms.",
                [_latency("0.5"), _latency("0.95"), _latency("0.99")],
                unit="s",
                width=24,
            )
        )
    )
    return build(board)
