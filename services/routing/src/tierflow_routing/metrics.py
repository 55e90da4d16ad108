"""Routing's business metrics and the API's own (the pipeline and HTTP metrics come from libs/common)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DECISIONS = Counter(
    "tierflow_routing_decisions_total", "Published routing decisions, by flow and priority.", ["flow", "priority"]
)
CUSTOMERS = Gauge("tierflow_routing_customers", "Routed customers by current flow.", ["flow"])
ADVISOR_LOAD = Gauge("tierflow_routing_advisor_load", "Customers assigned per advisor.", ["advisor_id", "region"])
ADVISOR_CAPACITY = Gauge("tierflow_routing_advisor_capacity", "Capacity per active advisor.", ["advisor_id", "region"])
WAITLIST = Gauge("tierflow_routing_waitlist", "Customers waiting for an advisor with free capacity.")
OVERRIDES = Gauge("tierflow_routing_overrides_active", "Staff overrides in force.")
OUTCOMES = Counter(
    "tierflow_outcomes_total",
    "Matured outcome windows (outcome=matured) and the outcomes true in them, by the decision's flow and experiment "
    "arm (none when in no experiment) and the window's length in days.",
    ["flow", "experiment", "arm", "outcome", "window"],
)
# Per advisor, labelled `advisor` as notification's coverage gauges are, so PromQL joins them to branches with
# `* on(advisor) group_left(branch) tierflow_routing_advisor_info`.
ADVISOR_INFO = Gauge(
    "tierflow_routing_advisor_info", "1 per registered advisor, with their branch and region.",
    ["advisor", "branch", "region"],
)  # fmt: skip
ADVISOR_BOOK = Gauge(
    "tierflow_routing_advisor_book", "Customers whose active route names the advisor, by tier.", ["advisor", "tier"]
)
ADVISOR_BOOK_AUM = Gauge(
    "tierflow_routing_advisor_book_aum", "Sum of total assets of the advisor's book, CNY.", ["advisor"]
)
ADVISOR_BOOK_NET_INFLOW = Gauge(
    "tierflow_routing_advisor_book_net_inflow_90d", "Sum of net inflow over 90 days of the advisor's book, CNY.",
    ["advisor"],
)  # fmt: skip
