"""The advisor scorecard's figures on plain values, computed by hand."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tierflow_routing.domain.facts import CustomerState, ProfileFacts
from tierflow_routing.domain.scorecard import BookCustomer, MaturedWindow, book_by_tier, retention, scorecard
from tierflow_routing.handlers import profile_facts
from tierflow_testing import builders as b


def customer(
    tier: str,
    assets: str | None,
    ago: str | None,
    inflow: str = "0",
    nps: int | None = None,
    customer_id: str = "C1",
) -> BookCustomer:
    return BookCustomer(
        customer_id=customer_id,
        tier=tier,
        total_assets=None if assets is None else Decimal(assets),
        total_assets_90d_ago=None if ago is None else Decimal(ago),
        net_inflow_90d=Decimal(inflow),
        last_nps=nps,
    )


def window(customer_id: str, *, dormant: bool = False, closed: bool = False) -> MaturedWindow:
    return MaturedWindow(customer_id=customer_id, became_dormant=dormant, closed=closed)


def test_an_empty_book_with_no_matured_window_has_zeros_and_no_rates() -> None:
    card = scorecard("ADV1", [], [])
    assert card.book_size == 0 and card.book_by_tier == {"A": 0, "B": 0, "C": 0, "D": 0}
    assert (card.retention.matured, card.retention.retained, card.retention.rate) == (0, 0, None)
    assert card.aum == card.aum_90d_ago == card.aum_change == card.net_inflow_90d == Decimal(0)
    assert card.nps_average is None and card.nps_answers == 0 and card.assets_unknown == 0


def test_book_by_tier_counts_every_tier() -> None:
    book = [customer("A", "1", "1"), customer("A", "1", "1"), customer("C", "1", "1")]
    assert book_by_tier(book) == {"A": 2, "B": 0, "C": 1, "D": 0}


def test_retention_is_the_share_neither_dormant_nor_closed() -> None:
    windows = [window("C1"), window("C2", dormant=True), window("C3", closed=True), window("C4")]
    r = retention(windows)
    assert (r.matured, r.retained, r.rate) == (4, 2, 0.5)
    both = retention([window("C1", dormant=True, closed=True)])
    assert (both.matured, both.retained, both.rate) == (1, 0, 0.0)


def test_aum_net_inflow_and_nps_of_a_book_by_hand() -> None:
    book = [
        customer("A", "1000000.50", "900000", inflow="50000", nps=9),
        customer("A", "2000000", "2100000", inflow="-120000.25", nps=None),
        customer("B", "300000", None, inflow="300000", nps=6),  # new to the firm: nothing 90 days ago
        customer("B", None, None, inflow="0", nps=10),  # the profile has not stated the assets
    ]
    card = scorecard("ADV1", book, [window("C1"), window("C9", dormant=True)])
    assert card.book_size == 4 and card.book_by_tier == {"A": 2, "B": 2, "C": 0, "D": 0}
    assert card.aum == Decimal("3300000.50")
    assert card.aum_90d_ago == Decimal("3000000")
    assert card.aum_change == Decimal("300000.50")
    assert card.net_inflow_90d == Decimal("229999.75")
    assert card.assets_unknown == 1
    assert card.nps_answers == 3 and card.nps_average == 25 / 3
    assert card.retention.rate == 0.5  # former customers count: retention is over the windows, not the book now


def test_states_stored_before_the_new_profile_fields_decode_with_them_unknown() -> None:
    # CustomerState is array_like: a state encoded without the two appended fields must still decode.
    current = msgspec.msgpack.decode(msgspec.msgpack.encode(ProfileFacts(profile_version=3, total_assets=Decimal("5"))))
    assert len(current) == 20
    old = msgspec.msgpack.encode(["C1", current[:-2]])  # the layout before total_assets_90d_ago and last_nps
    state = msgspec.msgpack.decode(old, type=CustomerState)
    assert state.profile.profile_version == 3 and state.profile.total_assets == Decimal("5")
    assert state.profile.total_assets_90d_ago is None and state.profile.last_nps is None
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(ProfileFacts(last_nps=7)), type=ProfileFacts).last_nps == 7


def test_profile_facts_keep_the_assets_90_days_ago_and_the_last_nps() -> None:
    event = b.profile_updated("C1", 4, total_assets="1200", net_inflow_90d="150")
    payload = event.payload.model_copy(
        update={
            "assets": event.payload.assets.model_copy(update={"total_assets_90d_ago": Decimal("1000")}),
            "engagement": event.payload.engagement.model_copy(update={"last_nps": 8}),
        }
    )
    facts = profile_facts(event.model_copy(update={"payload": payload}))
    assert (facts.total_assets, facts.total_assets_90d_ago, facts.net_inflow_90d) == (
        Decimal("1200"),
        Decimal("1000"),
        Decimal("150"),
    )
    assert facts.last_nps == 8
    assert profile_facts(event).total_assets_90d_ago is None and profile_facts(event).last_nps is None
