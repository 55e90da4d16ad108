"""JSON Schemas of the contract, generated from the pydantic models (schemas/*.json are checked in)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tierflow_common.events.envelope import EVENT_MODELS, EVENT_TOPIC


def schema_documents() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, one per event type and schema version."""
    documents: dict[str, dict[str, Any]] = {}
    for model in EVENT_MODELS:
        event_type = model.model_fields["event_type"].default
        version = model.model_fields["schema_version"].default
        schema = model.model_json_schema(mode="validation")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"tierflow/{event_type}.v{version}.json",
            "x-topic": EVENT_TOPIC[event_type],
            "x-key": "customer_id",
            **schema,
        }
        documents[f"{event_type}.v{version}.json"] = schema
    return documents


def render(document: dict[str, Any]) -> str:
    """Stable text for a schema file."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(directory: Path, *, check_only: bool = False) -> list[str]:
    """Write the schema files (or only compare them); return the names that were missing or different."""
    directory.mkdir(parents=True, exist_ok=True)
    stale = []
    documents = schema_documents()
    for name, document in documents.items():
        path = directory / name
        text = render(document)
        if not path.exists() or path.read_text() != text:
            stale.append(name)
            if not check_only:
                path.write_text(text)
    extra = sorted(p.name for p in directory.glob("*.json") if p.name not in documents)
    stale.extend(extra)
    if not check_only:
        for name in extra:
            (directory / name).unlink()
    return stale
