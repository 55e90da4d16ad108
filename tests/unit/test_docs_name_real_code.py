"""The docs name functions and classes that exist: every `name(...)` in backticks is defined in the source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])
CALL = re.compile(r"`(?:[\w/]+\.py[ :])?([A-Za-z_][\w.]*)\(")
DEFINED = re.compile(r"^\s*(?:async\s+def|def|class)\s+(\w+)", re.M)
# Names in the docs that are not this project's code: builtins, SQL, PromQL and library calls in examples.
FOREIGN = {
    "print", "len", "sum", "max", "min", "dict", "list", "range", "uuid5", "SELECT", "count", "coalesce", "now",
    "rate", "histogram_quantile", "increase", "sum_over_time", "time", "greatest", "unnest", "hashtext",
    "pg_advisory_xact_lock", "absent", "clamp_min", "topk", "ANY", "model_validate", "model_dump", "encode",
    "conditional_probability_alive", "avg_over_time", "irate", "label_replace", "insert", "select", "update",
    "text", "freeze", "set_threshold", "on_change",
}  # fmt: skip


def defined_names() -> set[str]:
    names: set[str] = set()
    for path in ROOT.glob("*/*/src/**/*.py"):
        names |= set(DEFINED.findall(path.read_text()))
    for path in ROOT.glob("deploy/**/*.py"):
        names |= set(DEFINED.findall(path.read_text()))
    return names


NAMES = defined_names()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_function_a_doc_names_exists(doc: Path) -> None:
    cited = {m.group(1) for m in CALL.finditer(doc.read_text())}
    missing = sorted(name for name in cited if name not in FOREIGN and name.rsplit(".", 1)[-1] not in NAMES | FOREIGN)
    assert not missing, f"{doc.name} names code that does not exist: {missing}"
