"""The scoring CLI on a real PostgreSQL: fit models from a CSV and from stored customers, policies."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lifetimes.datasets import load_cdnow_summary

from tierflow_cli.bench.scoring import seed_due_customers
from tierflow_scoring.bootstrap import MIGRATIONS_DIR
from tierflow_scoring.domain.policy import SHIPPED
from tierflow_scoring.settings import ScoringSettings
from tierflow_testing.plugin import Namespace, migrate

pytestmark = pytest.mark.integration


async def cli(ns: Namespace, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **ns.infra.env(), "TIERFLOW_STATE_DIR": str(tmp_path), "COLUMNS": "200"}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tierflow_cli", "scoring", *args, "--schema", ns.schema("scoring")],
        env=env,
        capture_output=True,
        text=True,
    )


async def test_models_fit_from_a_csv_and_from_stored_customers_and_activate(ns: Namespace, tmp_path: Path) -> None:
    await migrate(ns.settings(ScoringSettings, "scoring"), MIGRATIONS_DIR)
    csv = tmp_path / "cdnow.csv"
    load_cdnow_summary(index_col=[0]).to_csv(csv, index=False)
    fitted = await cli(
        ns, tmp_path, "model", "fit", "--version", "cdnow-fit", "--csv", str(csv), "--time-unit", "weeks"
    )
    assert fitted.returncode == 0, fitted.stderr
    assert "cdnow-fit: r=0.2426 alpha=4.4135 a=0.7929 b=2.4258 (weeks) from 2357 customers" in fitted.stdout

    await seed_due_customers(ns.infra.database_url, ns.schema("scoring"), 3000, datetime.now(UTC))
    own = await cli(ns, tmp_path, "model", "fit", "--version", "firm-fit", "--activate")
    assert own.returncode == 0, own.stderr
    assert "(days) from 3000 customers" in own.stdout and "; active" in own.stdout

    listed = await cli(ns, tmp_path, "model", "list")
    lines = listed.stdout.splitlines()
    assert any(line.startswith("* firm-fit") for line in lines)
    assert any(line.startswith("  cdnow-fit") for line in lines)
    switched = await cli(ns, tmp_path, "model", "activate", "cdnow-fit")
    assert switched.returncode == 0 and "cdnow-fit is active" in switched.stdout


async def test_policies_are_validated_before_anything_is_stored(ns: Namespace, tmp_path: Path) -> None:
    await migrate(ns.settings(ScoringSettings, "scoring"), MIGRATIONS_DIR)
    broken = tmp_path / "broken.yaml"
    broken.write_text((SHIPPED / "default.yaml").read_text().replace("weight: 0.6", "weight: 0.9"))
    refused = await cli(ns, tmp_path, "policy", "activate", str(broken))
    assert refused.returncode == 1
    assert "invalid, nothing applied" in refused.stdout and "weights must add up to 1" in refused.stdout
    assert (await cli(ns, tmp_path, "policy", "show")).returncode == 1  # nothing active: nothing was stored
    applied = await cli(ns, tmp_path, "policy", "activate", str(SHIPPED / "lower_band.yaml"))
    assert applied.returncode == 0 and "lower-band-2026.11 is active" in applied.stdout
    shown = await cli(ns, tmp_path, "policy", "show")
    assert "version: lower-band-2026.11" in shown.stdout


async def test_the_learned_score_is_fitted_from_an_observations_file_and_reported(
    ns: Namespace, tmp_path: Path
) -> None:
    await migrate(ns.settings(ScoringSettings, "scoring"), MIGRATIONS_DIR)
    observations = tmp_path / "reference.jsonl"
    made = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "tierflow_cli",
            "scoring",
            "model",
            "reference",
            *("--customers", "12000", "--seed", "5"),
            "--out",
            str(observations),
        ],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    assert observations.read_text().count("\n") > 9_000
    png = tmp_path / "reliability.png"
    fitted = await cli(
        ns, tmp_path, "model", "fit", "--kind", "churn", "--version", "sim-seed5", "--observations", str(observations)
    )
    assert fitted.returncode == 0, fitted.stderr + fitted.stdout
    assert "trained on " in fitted.stdout and "in force when observed" in fitted.stdout
    assert "the score in force on both AUC and Brier" in fitted.stdout  # the verdict, either way (a small sample)
    reported = await cli(ns, tmp_path, "model", "report", "sim-seed5", "--png", str(png))
    assert reported.returncode == 0, reported.stderr + reported.stdout
    assert "in force when observed" in reported.stdout and png.read_bytes().startswith(b"\x89PNG")
    listed = await cli(ns, tmp_path, "model", "list")
    assert "sim-seed5" in listed.stdout and "learned score" in listed.stdout
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"customer_id": "C1"}\n')
    refused = await cli(
        ns, tmp_path, "model", "fit", "--kind", "churn", "--version", "x", "--observations", str(broken)
    )
    assert refused.returncode == 1 and "broken.jsonl:1: not an observation" in refused.stdout
