"""`tierflow simulate --effects`: refused without --follow and with an invalid file, before any broker is used."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tierflow_cli import devenv
from tierflow_cli.main import app

EXAMPLE = Path(__file__).resolve().parents[3] / "simulator" / "effects" / "example.yaml"


@pytest.fixture(autouse=True)
def no_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(devenv, "DEV_ENV", tmp_path / "dev.env")  # no running stack's settings


def test_effects_need_follow() -> None:
    result = CliRunner().invoke(app, ["simulate", "--effects", str(EXAMPLE)])
    assert result.exit_code == 2
    assert "--follow" in result.output


def test_an_invalid_effects_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "effects.yaml"
    bad.write_text("effects:\n  teleport: {return: 5}\n")
    result = CliRunner().invoke(app, ["simulate", "--follow", "--effects", str(bad)])
    assert result.exit_code == 2
    assert "unknown flow" in result.output
