"""Derived event ids: standard UUIDv5, so any tool can recompute them."""

from __future__ import annotations


def test_derived_ids_are_standard_uuid5_and_stable() -> None:
    import uuid

    from tierflow_common.events.ids import TIERFLOW_NAMESPACE, derived_id, derived_id_str

    expected = uuid.uuid5(TIERFLOW_NAMESPACE, "profile:C1:7")
    assert derived_id("profile", "C1", 7) == expected
    assert derived_id_str("profile", "C1", 7) == str(expected)
    assert derived_id("profile", "C1", 8) != expected
