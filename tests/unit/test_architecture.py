"""The import graph keeps the architecture's shape: no cycles, and no arrow from a lower layer to a higher one.

Layers inside a service (docs/architecture.md, "Where does a change go"):
    api/  ->  application/  ->  domain/ and adapters/        (bootstrap.py wires them, at the edge)
Read statically from the source (ast), so a violation fails here before it is ever imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "tierflow_common": ROOT / "libs/common/src/tierflow_common",
    "tierflow_testing": ROOT / "libs/testing/src/tierflow_testing",
    "tierflow_profile": ROOT / "services/profile/src/tierflow_profile",
    "tierflow_scoring": ROOT / "services/scoring/src/tierflow_scoring",
    "tierflow_routing": ROOT / "services/routing/src/tierflow_routing",
    "tierflow_notification": ROOT / "services/notification/src/tierflow_notification",
    "tierflow_simulator": ROOT / "tools/simulator/src/tierflow_simulator",
    "tierflow_cli": ROOT / "tools/cli/src/tierflow_cli",
}
SERVICES = ("tierflow_profile", "tierflow_scoring", "tierflow_routing", "tierflow_notification")
# Infrastructure a pure domain never touches.
INFRASTRUCTURE = (
    "sqlalchemy",
    "asyncpg",
    "aiokafka",
    "redis",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "prometheus_client",
    "alembic",
)
# The edge: what may import a service's bootstrap (the wiring): the process entrypoints, the API's
# application and dependency modules, notification's worker (which serves the task API) and profile's
# rebuild job (its wiring is bootstrap.build_rebuild).
ENTRYPOINTS = ("__main__", "main", "worker", "rebuild", "api.app", "api.deps", "api.server")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (or a name inside it: resolved below)
    line: int


def module_name(package: str, path: Path) -> str:
    parts = path.relative_to(SOURCES[package]).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


def modules() -> dict[str, Path]:
    found = {}
    for package, root in SOURCES.items():
        for path in root.rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(package, path)] = path
    return found


MODULES = modules()


def imports_of(name: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield Import(name, candidate if candidate in MODULES else base, node.lineno)


IMPORTS = [i for name, path in MODULES.items() for i in imports_of(name, path)]


def internal(target: str) -> str | None:
    """The tierflow module an import lands in (the longest known prefix), or None for third parties."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def layer(module: str) -> tuple[str, str]:
    """(package, the module's path inside it): ("tierflow_routing", "api.routes.customers")."""
    package, _, rest = module.partition(".")
    return package, rest


def test_no_module_imports_its_way_back_to_itself() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in IMPORTS:
        target = internal(i.target)
        if target is not None and target != i.source:
            graph[i.source].add(target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def violations() -> Iterator[str]:
    for i in IMPORTS:
        package, inner = layer(i.source)
        target = internal(i.target)
        where = f"{i.source}:{i.line} imports {i.target}"
        if package == "tierflow_common" and target is not None and layer(target)[0] != "tierflow_common":
            yield f"{where}: libs/common depends on nothing above it"
        if package not in SERVICES:
            continue
        target_package, target_inner = layer(target) if target is not None else ("", "")
        if target_package in SERVICES and target_package != package:
            yield f"{where}: a service never imports another service"
        own = target_package == package
        if inner.startswith("domain"):
            if own and not target_inner.startswith("domain"):
                yield f"{where}: domain/ imports only domain/"
            if target is None and i.target.split(".")[0] in INFRASTRUCTURE:
                yield f"{where}: domain/ is pure (no infrastructure)"
        if inner.startswith("adapters") and own and target_inner.split(".")[0] in ("application", "api", "bootstrap"):
            yield f"{where}: adapters/ never import a layer above them"
        if inner.startswith("application") and own and target_inner.split(".")[0] in ("api", "bootstrap"):
            yield f"{where}: application/ never imports the API or the wiring"
        if inner == "bootstrap" and own and target_inner.startswith("api"):
            yield f"{where}: bootstrap wires the API's dependencies without importing the API"
        if own and target_inner == "bootstrap" and inner not in ENTRYPOINTS:
            yield f"{where}: only entrypoints import bootstrap"
        if inner.startswith("api.routes"):
            if own and target_inner.startswith("adapters"):
                yield f"{where}: routes call use cases, never adapters"
            if target is None and i.target.split(".")[0] in ("sqlalchemy", "asyncpg", "redis"):
                yield f"{where}: routes hold no SQL and no cache calls"


def test_no_arrow_points_from_a_lower_layer_to_a_higher_one() -> None:
    found = sorted(set(violations()))
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "path", sorted(p for name, p in MODULES.items() if ".api.routes." in name), ids=lambda p: p.name
)
def test_route_functions_hold_no_transaction_and_no_sql(path: Path) -> None:
    """A route parses, checks scopes, calls one use case and returns a view: no connection, no statement."""
    tree = ast.parse(path.read_text())
    calls = {
        node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"begin", "connect", "transaction", "execute", "stream", "scalar", "fetch"}, path
