"""The framework ceiling for `tierflow bench api`: FastAPI answering a constant on the route's path.

Served by the same uvicorn settings as the routing API (workers, uvloop, httptools, no access log),
so the ratio between the two says what the routing API's own work costs.
"""

from __future__ import annotations

from fastapi import FastAPI

CONSTANT = {
    "customer_id": "C0000000",
    "decision_id": "0b7e6a4e-8d2f-5a57-9a65-3f2f7c1b2d11",
    "version": 1,
    "flow": "robo_advisor",
    "advisor_id": None,
    "priority": "normal",
    "active": True,
    "tier": "B",
    "churn_band": "low",
    "reasons": [{"code": "rule_b_robo_advisor", "contribution": 1.0, "detail": "rule b_robo_advisor"}],
    "policy_version": "routing-default-2026.11",
    "decided_at": "2026-11-20T09:31:02.500000Z",
}


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/customers/{customer_id}/route")
    async def route(customer_id: str) -> dict[str, object]:
        return CONSTANT

    return app
