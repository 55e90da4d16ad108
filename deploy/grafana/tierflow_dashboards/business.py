"""Business: tier mix, churn, flows, advisor load, outreach outcomes.

Customer counts and advisor gauges are read from the owning service's database, so every replica
reports the same number: they are combined with max, never sum. Counters are per process: sum.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as models

from tierflow_dashboards.panels import RATE, Query, bargauge_panel, build, new_dashboard, stat_panel, timeseries_panel

CUSTOMERS_BY_TIER_AND_BAND = "max by (tier, churn_band) (tierflow_scoring_customers)"
ADVISOR_LOAD = "max by (advisor_id, region) (tierflow_routing_advisor_load)"
ADVISOR_CAPACITY = "max by (advisor_id, region) (tierflow_routing_advisor_capacity)"


def business_dashboard() -> models.Dashboard:
    board = (
        new_dashboard(
            "tierflow-business",
            "tierflow / Business",
            "Tier mix, churn bands, routing flows, advisor load and outreach, as operations watch them.",
        )
        .with_row(dashboard.Row("Tiers and churn"))
        .with_panel(
            timeseries_panel(
                "Customers by tier",
                "A high-net-worth, B potential, C ordinary, D dormant (scoring's current view).",
                [Query(f"sum by (tier) ({CUSTOMERS_BY_TIER_AND_BAND})", "tier {{tier}}")],
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Customers by churn band",
                "Churn risk from P(alive) and behavioural signals.",
                [Query(f"sum by (churn_band) ({CUSTOMERS_BY_TIER_AND_BAND})", "{{churn_band}}")],
                stacked=True,
            )
        )
        .with_panel(
            bargauge_panel(
                "High-value customers at risk",
                "Tier A and B customers in the high churn band: each should be in an advisor's retention list.",
                Query(
                    'max by (tier, churn_band) (tierflow_scoring_customers{tier=~"A|B", churn_band="high"})',
                    "tier {{tier}}",
                    instant=True,
                ),
            )
        )
        .with_panel(
            bargauge_panel(
                "Tier mix now",
                "Share of scored customers per tier.",
                Query(
                    f"sum by (tier) ({CUSTOMERS_BY_TIER_AND_BAND}) / scalar(sum({CUSTOMERS_BY_TIER_AND_BAND}))",
                    "tier {{tier}}",
                    instant=True,
                ),
                unit="percentunit",
            )
        )
        .with_row(dashboard.Row("Transitions"))
        .with_panel(
            timeseries_panel(
                "Tier transitions per hour",
                "Published tier changes; from_tier none is a customer's first tier.",
                [
                    Query(
                        "sum by (from_tier, to_tier) (increase(tierflow_scoring_tier_transitions_total[1h]))",
                        "{{from_tier}} → {{to_tier}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Churn band transitions per hour",
                "Published churn band changes; a wave into high often follows a market drop.",
                [
                    Query(
                        "sum by (from_band, to_band) (increase(tierflow_scoring_churn_band_transitions_total[1h]))",
                        "{{from_band}} → {{to_band}}",
                    )
                ],
            )
        )
        .with_row(dashboard.Row("Routing flows"))
        .with_panel(
            timeseries_panel(
                "Customers by flow",
                "private_advisor, robo_advisor, community, reactivation (routing's current decisions).",
                [Query("max by (flow) (tierflow_routing_customers)", "{{flow}}")],
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Routing decisions / min by flow and priority",
                "Published decisions (a change of flow, advisor or priority).",
                [
                    Query(
                        f"60 * sum by (flow, priority) (rate(tierflow_routing_decisions_total[{RATE}]))",
                        "{{flow}} {{priority}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "30-day outcomes by experiment arm (share of matured windows)",
                "Of the 30-day windows matured over the last day, the share where the customer traded again or "
                "kept the tier (docs/experiments.md; superseded windows included; not an effect estimate).",
                [
                    Query(
                        'sum by (experiment, arm, outcome) (increase(tierflow_outcomes_total{window="30", '
                        'outcome=~"traded_again|kept_or_regained_tier"}[1d])) / ignoring(outcome) group_left '
                        'sum by (experiment, arm) (increase(tierflow_outcomes_total{window="30", '
                        'outcome="matured"}[1d]))',
                        "{{experiment}} {{arm}} {{outcome}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Win-back rate by experiment arm (reactivation, 30 days)",
                "Of the reactivation decisions whose 30-day window matured over the last day, the share where the "
                "dormant customer traded again, per experiment arm and the global holdout (the holdout gets no "
                "marketing outreach, so its rate is the win-back without the programme). Not an effect estimate: "
                "GET /v1/experiments/{id} gives the difference with its interval.",
                [
                    Query(
                        'sum by (experiment, arm) (increase(tierflow_outcomes_total{flow="reactivation", window="30", '
                        'outcome="traded_again"}[1d])) / '
                        'sum by (experiment, arm) (increase(tierflow_outcomes_total{flow="reactivation", window="30", '
                        'outcome="matured"}[1d]))',
                        "{{experiment}} {{arm}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Service coverage by advisor (30 days)",
                "Of each advisor's tasks due in the last 30 days and not cancelled, the share done by their due time, "
                "over all tiers (weighted by what was promised); GET /v1/advisors/{id}/coverage splits it by tier. "
                "Below 90% with at least 5 promised tasks for an hour: TierflowServiceCoverageLow.",
                [
                    Query(
                        "sum by (advisor) (max by (advisor, tier) (tierflow_service_ontime_tasks)) / "
                        "sum by (advisor) (max by (advisor, tier) (tierflow_service_promised_tasks))",
                        "{{advisor}}",
                    )
                ],
                unit="percentunit",
            )
        )
        .with_panel(
            stat_panel(
                "Staff overrides in force",
                "Routes set by staff instead of the policy (each is logged).",
                Query("max(tierflow_routing_overrides_active)"),
            )
        )
        .with_panel(
            stat_panel(
                "Waiting for an advisor",
                "Customers routed to a private advisor while none in their region has free capacity.",
                Query("max(tierflow_routing_waitlist)"),
            )
        )
        .with_row(dashboard.Row("Advisors"))
        .with_panel(
            timeseries_panel(
                "Advisor utilisation by region",
                "Assigned customers over capacity; 100% means new tier-A customers wait.",
                [Query(f"sum by (region) ({ADVISOR_LOAD}) / sum by (region) ({ADVISOR_CAPACITY})", "{{region}}")],
                unit="percentunit",
            )
        )
        .with_panel(
            bargauge_panel(
                "Busiest advisors",
                "The ten advisors with the most assigned customers.",
                Query(f"topk(10, {ADVISOR_LOAD})", "{{advisor_id}} ({{region}})", instant=True),
            )
        )
        .with_row(dashboard.Row("Outreach"))
        .with_panel(
            timeseries_panel(
                "Notifications per hour by outcome",
                "sent, deferred (quiet hours, caps), suppressed (no consent, superseded), failed.",
                [Query("sum by (status) (increase(tierflow_notifications_total[1h]))", "{{status}}")],
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Deferred and suppressed / min by reason",
                "Why outreach did not go out now.",
                [
                    Query(
                        "60 * sum by (status, reason) "
                        f'(rate(tierflow_notifications_total{{status=~"deferred|suppressed"}}[{RATE}]))',
                        "{{status}}: {{reason}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Sent / min by flow and channel",
                "Messages handed to a channel adapter.",
                [
                    Query(
                        f'60 * sum by (flow, channel) (rate(tierflow_notifications_total{{status="sent"}}[{RATE}]))',
                        "{{flow}} via {{channel}}",
                    )
                ],
                width=24,
            )
        )
    )
    return build(board)
