"""The few panel shapes every tierflow dashboard uses, so the dashboard modules read as lists of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models

# Every panel reads the data source the viewer picks; provisioning makes uid "prometheus" the default.
DATASOURCE = models.DataSourceRef(type_val="prometheus", uid="${datasource}")
# Grafana's own rate window: at least four scrape intervals, so rate() never sees a single sample.
RATE = "$__rate_interval"
# Ops endpoints are scraped by probes and Prometheus; they would drown the routes front ends call.
NOT_OPS_ROUTE = 'route!~"/healthz|/readyz|/metrics"'


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and how its series are named in the legend."""

    expr: str
    legend: str = ""
    instant: bool = False


AnyPanel = TypeVar("AnyPanel", timeseries.Panel, stat.Panel, bargauge.Panel)


def _frame(panel: AnyPanel, title: str, description: str, queries: list[Query], *, unit: str, width: int) -> AnyPanel:
    """What every panel has: title, description, data source, unit, width and its queries."""
    panel = panel.title(title).description(description).datasource(DATASOURCE).unit(unit).span(width)
    for ref, query in zip("ABCDEFGH", queries, strict=False):
        target = prometheus.Dataquery().expr(query.expr).legend_format(query.legend or "__auto").ref_id(ref)
        panel = panel.with_target(target.instant() if query.instant else target.range())
    return panel


def timeseries_panel(
    title: str, description: str, queries: list[Query], *, unit: str = "short", stacked: bool = False, width: int = 12
) -> timeseries.Panel:
    """A time series chart with a table legend showing the last and highest value of each series."""
    panel = (
        _frame(timeseries.Panel(), title, description, queries, unit=unit, width=width)
        .height(8)
        .fill_opacity(10 if not stacked else 40)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
        .tooltip(
            common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)
        )
    )
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    return panel


def stat_panel(title: str, description: str, query: Query, *, unit: str = "short", width: int = 6) -> stat.Panel:
    """A single number (the last value), coloured by its thresholds."""
    return (
        _frame(stat.Panel(), title, description, [query], unit=unit, width=width)
        .height(4)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def bargauge_panel(
    title: str, description: str, query: Query, *, unit: str = "short", width: int = 12
) -> bargauge.Panel:
    """Horizontal bars, one per series: a current mix or a top list."""
    return (
        _frame(bargauge.Panel(), title, description, [query], unit=unit, width=width)
        .height(8)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def new_dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    """A dashboard with the data-source picker, tierflow tags and links to its sibling dashboards."""
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["tierflow"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .link(
            dashboard.DashboardLink("tierflow")
            .type(models.DashboardLinkType.DASHBOARDS)
            .tags(["tierflow"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


def build(board: cogbuilder.Builder[models.Dashboard]) -> models.Dashboard:
    """Build the model and number its panels, so links and the Grafana UI can address each one."""
    model = board.build()
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return model
