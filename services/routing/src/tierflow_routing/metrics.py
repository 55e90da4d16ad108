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
