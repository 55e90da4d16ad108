"""YAML documents: anchors, aliases and deep nesting are refused while composing, by every loader the services use."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tierflow_common.exceptions import ConfigurationError
from tierflow_common.yaml_documents import MAX_DEPTH, load_mapping
from tierflow_notification.domain.playbooks import parse_playbooks
from tierflow_routing.domain.policy import RoutingPolicyError, parse_routing_policy
from tierflow_scoring.domain.policy import PolicyError, parse_policy

ALIASED = "version: x\nbase: &base {flow: community}\nrules:\n  - name: default\n    then: *base\n"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP = "version: x\nrules: " + "[" * 100_000 + "]" * 100_000 + "\n"


def load(text: str) -> dict[str, object]:
    return load_mapping(text, source="uploaded", what="a policy", error=ValueError)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (ALIASED, "anchors"),
        ("a: 1\nb: *nothing\n", "aliases"),  # an alias whose anchor is missing is refused as an alias
        (LAUGHS, "anchors"),  # a billion laughs: refused at the first anchor, nothing is expanded
        ("version: x\n<<: *base\n", "aliases"),  # merge keys need aliases
        (DEEP, f"nesting deeper than {MAX_DEPTH} levels"),  # was a RecursionError: 500 at the API
        ("a:\n" + "".join("  " * n + f"k{n}:\n" for n in range(1, 12)) + "  " * 12 + "v: 1\n", "nesting deeper"),
    ],
)
def test_anchors_aliases_and_deep_nesting_are_refused_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"^uploaded: not valid YAML: {problem}"):
        load(text)


def test_the_nesting_limit_leaves_room_for_real_documents() -> None:
    nested: str = "1"
    for _ in range(MAX_DEPTH - 1):
        nested = f"[{nested}]"
    assert load(f"a: {nested}\n")["a"] is not None  # MAX_DEPTH collections, the top mapping included
    with pytest.raises(ValueError, match="nesting deeper"):
        load(f"a: [{nested}]\n")


def test_an_ampersand_or_asterisk_inside_a_string_is_text() -> None:
    assert load("a: '&x'\nb: \"*y\"\nc: x & y\n") == {"a": "&x", "b": "*y", "c": "x & y"}


@pytest.mark.parametrize(
    ("parse", "error"),
    [
        (lambda text: parse_routing_policy(text, source="uploaded"), RoutingPolicyError),
        (lambda text: parse_policy(text, source="uploaded"), PolicyError),
        (lambda text: parse_playbooks(text, source="uploaded"), ConfigurationError),
    ],
    ids=["routing policy", "scoring policy", "notification playbooks"],
)
def test_every_yaml_the_services_load_refuses_them(parse: Callable[[str], object], error: type[Exception]) -> None:
    for text in (ALIASED, DEEP):
        with pytest.raises(error, match=r"^uploaded: not valid YAML: (anchors|nesting)"):
            parse(text)
