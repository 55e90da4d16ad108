"""Each package declares every distribution its source imports, so an install of that package alone works.

Read statically: every top-level import in a package's src/ is mapped to the distribution that provides
it (importlib.metadata) and must be among the package's own dependencies or optional extras.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent for p in ROOT.glob("*/*/pyproject.toml") if (p.parent / "src").is_dir())
PROVIDERS = packages_distributions()


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])


def declared(package: Path) -> set[str]:
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    names = {requirement_name(r) for r in project.get("dependencies", [])}
    for extra in project.get("optional-dependencies", {}).values():
        names |= {requirement_name(r) for r in extra}
    return names | {normalise(project["name"])}


def imported(package: Path) -> dict[str, str]:
    """Top-level module name -> the first file importing it (absolute imports only)."""
    found: dict[str, str] = {}
    for path in sorted((package / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def distributions_of(module: str) -> set[str]:
    if module.startswith("tierflow_"):
        return {normalise(module.replace("_", "-"))}
    return {normalise(d) for d in PROVIDERS.get(module, [])}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_is_a_declared_dependency(package: Path) -> None:
    wanted = declared(package)
    missing = []
    for module, where in sorted(imported(package).items()):
        if module in sys.stdlib_module_names or module == "__future__":
            continue
        providers = distributions_of(module)
        assert providers, f"{where}: nothing installed provides {module!r}"
        if not providers & wanted:
            missing.append(f"{module} ({' or '.join(sorted(providers))}, imported in {where})")
    assert not missing, f"{package.name}/pyproject.toml does not declare: " + "; ".join(missing)
