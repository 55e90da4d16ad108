"""Reading a YAML document that must be a mapping (policies, playbooks): one place for the checks.

Every YAML document a service reads (a routing policy uploaded over HTTP, the scoring policies, the
notification playbooks) comes through `load_mapping`. It refuses what a policy never needs and an
attacker would use: anchors and aliases (a few lines of aliases expand to gigabytes once the
document is validated or serialised) and nesting deeper than `MAX_DEPTH` (the composer recurses once
per level, so ten thousand `[` end in a RecursionError). Both are refused while the document is
being composed, at the first offending node, so a hostile document costs no more than reading it.
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import ComposerError
from yaml.nodes import Node

MAX_DEPTH = 10
"""Collections inside collections, the document's top mapping being 1; the shipped files need 6."""


class _StrictLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """The safe loader without anchors or aliases, and with a nesting limit."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, "anchors (&name) are not allowed", event.start_mark)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


def load_mapping(text: str, *, source: str, what: str, error: type[Exception]) -> dict[str, Any]:
    """The document as a dict; `error` names `source` when it is not YAML, not a mapping, uses anchors or
    aliases, or nests deeper than MAX_DEPTH."""
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise error(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise error(f"{source}: {what} is a YAML mapping")
    return document


M = TypeVar("M", bound=BaseModel)


def parse_document(text: str, model: type[M], *, source: str, what: str, error: type[Exception]) -> M:
    """A YAML mapping (`load_mapping`) validated as `model`; `error` names `source` and the path and message of
    the first problem (the playbook file, the trading calendar)."""
    document = load_mapping(text, source=source, what=what, error=error)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        raise error(f"{source}: {where}: {first['msg']}") from None
