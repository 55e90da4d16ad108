"""Reading a YAML document that must be a mapping (policies, playbooks): one place for the checks."""

from __future__ import annotations

from typing import Any

import yaml


def load_mapping(text: str, *, source: str, what: str, error: type[Exception]) -> dict[str, Any]:
    """The document as a dict; `error` names `source` when it is not YAML or not a mapping."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise error(f"{source}: {what} is a YAML mapping")
    return document
