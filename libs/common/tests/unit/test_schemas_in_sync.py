"""The JSON Schemas in schemas/ are generated from the models; this fails when they drift."""

from __future__ import annotations

from pathlib import Path

from tierflow_common.events.schemas import schema_documents, write_schemas

SCHEMAS = Path(__file__).resolve().parents[4] / "schemas"


def test_checked_in_schemas_match_the_models() -> None:
    stale = write_schemas(SCHEMAS, check_only=True)
    assert stale == [], f"schemas out of date: {stale}; run `.venv/bin/tierflow schemas` and commit"


def test_every_event_type_has_a_schema_naming_its_topic_and_key() -> None:
    documents = schema_documents()
    assert len(documents) == 11
    for name, document in documents.items():
        assert document["x-key"] == "customer_id", name
        assert document["x-topic"].startswith("tierflow."), name
        assert document["additionalProperties"] is False, name
