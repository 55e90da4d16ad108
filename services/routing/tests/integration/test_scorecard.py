"""The advisor scorecard on real PostgreSQL: customers routed to an advisor through the application's assignment
path, 90-day windows matured through the real outcome adapter, and every figure checked against a hand count."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import msgspec
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tierflow_common.clock import WallClock
from tierflow_routing.adapters import outcomes as store
from tierflow_routing.adapters.tables import decisions
from tierflow_routing.application import policies
from tierflow_routing.application.context import RoutingContext
from tierflow_routing.bootstrap import build_api_dependencies
from tierflow_routing.domain.facts import CustomerState, ProfileFacts, ScoreFacts
from tierflow_routing.domain.outcomes import Baseline, Outcome, open_windows
from tierflow_routing.gauges import routing_gauges
from tierflow_routing.settings import RoutingSettings

from .conftest import add_advisor, bearer
from .test_tier_shares import NOW, route_all

pytestmark = pytest.mark.integration

EVERYONE_TO_ADVISORS = """
version: scorecard-everyone-advisors
rules:
  - {name: default, then: {flow: private_advisor}}
"""


@pytest.fixture
async def routing(settings: RoutingSettings) -> AsyncIterator[RoutingContext]:
    deps = build_api_dependencies(settings)
    try:
        yield deps.routing
    finally:
        await deps.close()


def customer(
    customer_id: str, tier: str, assets: str | None, ago: str | None, inflow: str, nps: int | None
) -> CustomerState:
    profile = ProfileFacts(
        profile_version=1,
        region="shenzhen",
        risk_level="C3",
        total_assets=None if assets is None else Decimal(assets),
        total_assets_90d_ago=None if ago is None else Decimal(ago),
        net_inflow_90d=Decimal(inflow),
        last_nps=nps,
    )
    return CustomerState(customer_id=customer_id, profile=profile, score=ScoreFacts(score_version=1, tier=tier))


def result(*, dormant: bool = False, closed: bool = False) -> Outcome:
    return Outcome(
        traded_again=False, logged_in=True, kept_or_regained_tier=not dormant, became_dormant=dormant, closed=closed,
        churn_band_moved=None, tier_at_end="A", churn_band_at_end=None, net_inflow=None,
    )  # fmt: skip


async def mature(
    database: AsyncEngine, decision_id: str, customer_id: str, outcome: Outcome | None, *, superseded: bool = False
) -> None:
    """The decision's three windows; the 90-day one matured with `outcome` (None: still pending), the 30-day one
    always matured as retained-looking noise that must not count."""
    baseline = Baseline(
        decision_id=decision_id, customer_id=customer_id, version=1, decided_at=NOW, flow="private_advisor", tier="A"
    )
    windows = open_windows(baseline, None, None)
    if superseded:
        later = NOW + timedelta(days=10)
        windows = [msgspec.structs.replace(w, superseded_at=later, superseded_by=str(uuid.uuid4())) for w in windows]
    async with database.begin() as conn:
        await store.save_pending(conn, windows=windows)
        matured = [(w, result()) for w in windows if w.window_days == 30]
        matured += [(w, outcome) for w in windows if w.window_days == 90 and outcome is not None]
        await store.mark_matured(conn, matured=matured, at=NOW + timedelta(days=91))


async def test_scorecard_figures_equal_a_hand_count(
    routing: RoutingContext, api: httpx.AsyncClient, database: AsyncEngine
) -> None:
    await policies.upload_policy(routing, EVERYONE_TO_ADVISORS, actor="test")
    assert (await add_advisor(api, "ADV1", branch="futian", capacity=20)).status_code == 201
    book = [
        customer("K1", "A", "1000000.50", "900000", "50000", 9),
        customer("K2", "A", "2000000", "2100000", "-120000.25", None),
        customer("K3", "B", "300000", None, "300000", 6),  # new to the firm: nothing 90 days ago
        customer("K4", "B", None, None, "0", 10),  # assets not stated yet
        customer("K5", "C", "5000", "5000", "0", None),
    ]
    await route_all(routing, book)
    async with database.connect() as conn:
        rows = await conn.execute(select(decisions.c.customer_id, decisions.c.decision_id, decisions.c.advisor_id))
        decided = {row.customer_id: (str(row.decision_id), row.advisor_id) for row in rows}
    assert {advisor for _, advisor in decided.values()} == {"ADV1"}, decided

    # K1, K2 retained; K3 became dormant; K4's window is superseded (not counted); K5's is still pending.
    await mature(database, decided["K1"][0], "K1", result())
    await mature(database, decided["K2"][0], "K2", result())
    await mature(database, decided["K3"][0], "K3", result(dormant=True))
    await mature(database, decided["K4"][0], "K4", result(), superseded=True)
    await mature(database, decided["K5"][0], "K5", None)
    # A former customer, closed, counts for retention though no longer in the book; another advisor's does not.
    async with database.begin() as conn:
        for customer_id, advisor_id in (("GONE", "ADV1"), ("ELSE", "ADV2")):
            decision_id = str(uuid.uuid4())
            await conn.execute(
                insert(decisions).values(
                    decision_id=uuid.UUID(decision_id), customer_id=customer_id, version=1, flow="private_advisor",
                    advisor_id=advisor_id, priority="normal", active=True, rule="default", tier="A", reasons=[],
                    policy_version="old", decided_at=NOW,
                )
            )  # fmt: skip
            await mature(database, decision_id, customer_id, result(closed=True))

    response = await api.get("/v1/advisors/ADV1/scorecard", headers=bearer("route:read"))
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["advisor_id"] == "ADV1" and card["book_size"] == 5
    assert card["book_by_tier"] == {"A": 2, "B": 2, "C": 1, "D": 0}
    assert card["retention"] == {"matured": 4, "retained": 2, "rate": 0.5}  # K1, K2 of K1, K2, K3, GONE
    assert Decimal(card["net_inflow_90d"]) == Decimal("229999.75")
    assert Decimal(card["aum"]["now"]) == Decimal("3305000.50")
    assert Decimal(card["aum"]["ago_90d"]) == Decimal("3005000")
    assert Decimal(card["aum"]["change"]) == Decimal("300000.50")
    assert card["aum"]["assets_unknown"] == 1
    assert card["nps"] == {"average": pytest.approx(25 / 3), "answers": 3}
    assert card["coverage"] is None

    # The same scopes as the advisor reads; 404 for an unknown advisor.
    assert (await api.get("/v1/advisors/ADV1/scorecard", headers=bearer("advisor:write"))).status_code == 200
    assert (await api.get("/v1/advisors/ADV1/scorecard")).status_code == 401
    own = bearer("route:read:self", customer="K1")
    assert (await api.get("/v1/advisors/ADV1/scorecard", headers=own)).status_code == 403
    assert (await api.get("/v1/advisors/NOBODY/scorecard", headers=bearer("route:read"))).status_code == 404

    # An advisor with an empty book and no matured window: zeros, and no rate or average.
    assert (await add_advisor(api, "ADV3", capacity=5)).status_code == 201
    empty = (await api.get("/v1/advisors/ADV3/scorecard", headers=bearer("route:read"))).json()
    assert empty["book_size"] == 0 and empty["retention"] == {"matured": 0, "retained": 0, "rate": None}
    assert empty["nps"] == {"average": None, "answers": 0} and Decimal(empty["aum"]["change"]) == 0

    # The per-advisor gauges Grafana sums by branch state the same book.
    await routing_gauges(database, WallClock())()

    def sample(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    assert sample("tierflow_routing_advisor_info", advisor="ADV1", branch="futian", region="shenzhen") == 1
    assert {t: sample("tierflow_routing_advisor_book", advisor="ADV1", tier=t) for t in "ABCD"} == card["book_by_tier"]
    assert sample("tierflow_routing_advisor_book", advisor="ADV3", tier="A") == 0
    assert sample("tierflow_routing_advisor_book_aum", advisor="ADV1") == float(Decimal(card["aum"]["now"]))
    assert sample("tierflow_routing_advisor_book_net_inflow_90d", advisor="ADV1") == 229999.75
    assert sample("tierflow_routing_advisor_book_aum", advisor="ADV3") == 0
