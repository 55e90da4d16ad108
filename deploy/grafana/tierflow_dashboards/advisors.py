"""Advisors by branch: the scorecard's figures summed per branch (book by tier, AUM, net inflow, service coverage).

Routing knows each advisor's branch (`tierflow_routing_advisor_info`); notification's coverage gauges carry only the
advisor, so they are joined to branches with `* on(advisor) group_left(branch)`. Every side is first reduced with
`max by` so that several replicas exporting the same series do not make the join many-to-many.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as models

from tierflow_dashboards.panels import DATASOURCE, Query, bargauge_panel, build, new_dashboard, timeseries_panel

BRANCH_OF = 'max by (advisor, branch) (tierflow_routing_advisor_info{branch=~"$branch"})'


def per_branch(per_advisor: str, by: str = "") -> str:
    """Sum a per-advisor expression by branch (and `by`), keeping the advisors of the branches picked."""
    labels = f"branch, {by}" if by else "branch"
    return f"sum by ({labels}) ({per_advisor} * on(advisor) group_left(branch) {BRANCH_OF})"


BOOK = "max by (advisor, tier) (tierflow_routing_advisor_book)"
AUM = "max by (advisor) (tierflow_routing_advisor_book_aum)"
NET_INFLOW = "max by (advisor) (tierflow_routing_advisor_book_net_inflow_90d)"
ONTIME = "max by (advisor, tier) (tierflow_service_ontime_tasks)"
PROMISED = "max by (advisor, tier) (tierflow_service_promised_tasks)"


def _branch_variable() -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable("branch")
        .label("Branch")
        .datasource(DATASOURCE)
        .query("label_values(tierflow_routing_advisor_info, branch)")
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(models.VariableOption(selected=True, text="All", value="$__all"))
    )


def advisors_dashboard() -> models.Dashboard:
    board = (
        new_dashboard(
            "tierflow-advisors",
            "tierflow advisors by branch",
            "The advisor scorecard per branch: book by tier, AUM and net inflow (routing), service coverage "
            "(notification). One advisor's figures: GET /v1/advisors/{id}/scorecard on routing, /coverage on "
            "notification.",
        )
        .with_variable(_branch_variable())
        .with_row(dashboard.Row("Books"))
        .with_panel(
            bargauge_panel(
                "Book by tier per branch",
                "Customers whose active route names an advisor of the branch, by the tier on the route.",
                Query(per_branch(BOOK, "tier"), "{{branch}} {{tier}}", instant=True),
            )
        )
        .with_panel(
            timeseries_panel(
                "Book size per branch",
                "Customers with an advisor of the branch, over time.",
                [Query(per_branch(BOOK), "{{branch}}")],
            )
        )
        .with_row(dashboard.Row("Money"))
        .with_panel(
            timeseries_panel(
                "AUM per branch",
                "Sum of the books' total assets (unknown counts as 0); refreshed every 5 minutes.",
                [Query(per_branch(AUM), "{{branch}}")],
                unit="currencyCNY",
            )
        )
        .with_panel(
            timeseries_panel(
                "Net inflow over 90 days per branch",
                "Transfers in minus out over 90 days, summed over the books; below zero, money is leaving.",
                [Query(per_branch(NET_INFLOW), "{{branch}}")],
                unit="currencyCNY",
            )
        )
        .with_row(dashboard.Row("Service coverage"))
        .with_panel(
            timeseries_panel(
                "Service coverage per branch",
                "Promised contacts done on time over those promised, from notification's task gauges joined to "
                "the advisors' branches (summed before dividing: each advisor weighs by their promised tasks).",
                [Query(f"{per_branch(ONTIME)} / {per_branch(PROMISED)}", "{{branch}}")],
                unit="percentunit",
            )
        )
        .with_panel(
            bargauge_panel(
                "Service coverage per branch and tier",
                "As on the left, by the tier each promised task was for.",
                Query(
                    f"{per_branch(ONTIME, 'tier')} / {per_branch(PROMISED, 'tier')}",
                    "{{branch}} {{tier}}",
                    instant=True,
                ),
                unit="percentunit",
            )
        )
    )
    return build(board)
