"""Under CI=true a missing broker, database or Redis fails the run; it is never a silent skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tierflow_common.infra.embedded import free_port
from tierflow_testing.infra import Infra

PROBE = "def test_needs_infrastructure(infra):\n    assert infra.kafka_bootstrap\n"


def run_probe(tmp_path: Path, infra: Infra, *, ci: bool, missing: str) -> subprocess.CompletedProcess[str]:
    """Run a one-test session whose `missing` server points at a closed port; the others are real."""
    (tmp_path / "test_probe.py").write_text(PROBE)
    dead = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"CI", "KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(infra.env())
    env.update(
        {
            "kafka": {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{dead}"},
            "postgres": {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{dead}/postgres"},
            "redis": {"REDIS_URL": f"redis://127.0.0.1:{dead}/0"},
        }[missing]
    )
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_probe.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", ["kafka", "postgres", "redis"])
def test_missing_infrastructure_fails_under_ci(tmp_path: Path, infra: Infra, missing: str) -> None:
    result = run_probe(tmp_path, infra, ci=True, missing=missing)
    assert result.returncode != 0, result.stdout
    assert "CI=true and the test infrastructure is unavailable" in result.stdout
    assert "skipped" not in result.stdout


def test_missing_infrastructure_is_a_visible_skip_outside_ci(tmp_path: Path, infra: Infra) -> None:
    result = run_probe(tmp_path, infra, ci=False, missing="kafka")
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
