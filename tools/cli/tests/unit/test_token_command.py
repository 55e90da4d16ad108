"""`tierflow token`: development tokens only (never with TIERFLOW_ENV=production), within the APIs' token rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tierflow_cli import devenv
from tierflow_cli.main import app
from tierflow_common.auth import AuthenticationError, TokenVerifier

ROUTING_SECRET = "dev-routing-secret-for-the-token-command-test"
TASKS_SECRET = "dev-tasks-secret-for-the-token-command-test-0"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(devenv, "DEV_ENV", tmp_path / "dev.env")  # no running stack's settings
    for name in ("TIERFLOW_ENV", "TIERFLOW_ROUTING_JWT_SECRET", "TIERFLOW_NOTIFICATION_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIERFLOW_ROUTING_JWT_SECRET", ROUTING_SECRET)
    monkeypatch.setenv("TIERFLOW_NOTIFICATION_JWT_SECRET", TASKS_SECRET)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["token", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("set_to", ["production", None], ids=["production", "unset (production)"])
def test_no_token_is_signed_in_production(monkeypatch: pytest.MonkeyPatch, set_to: str | None) -> None:
    if set_to is not None:
        monkeypatch.setenv("TIERFLOW_ENV", set_to)
    code, output = run("--scope", "route:read")
    assert code == 2 and "production" in output and "eyJ" not in output


def test_a_development_token_verifies_and_an_advisor_token_carries_its_advisor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERFLOW_ENV", "development")
    code, output = run("--scope", "route:read", "--ttl", "600")
    assert code == 0, output
    routing = TokenVerifier(algorithm="HS256", key=ROUTING_SECRET, audience="tierflow")
    assert routing.verify(output.strip()).scopes == {"route:read"}

    code, output = run("--scope", "task:read", "--scope", "task:write", "--advisor", "ADV017")
    assert code == 0, output
    tasks = TokenVerifier(algorithm="HS256", key=TASKS_SECRET, audience="tierflow")
    assert tasks.verify(output.strip()).advisor_id == "ADV017"  # signed with the task API's own secret
    with pytest.raises(AuthenticationError):
        routing.verify(output.strip())


def test_a_lifetime_the_api_would_refuse_is_refused_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERFLOW_ENV", "development")
    code, output = run("--ttl", str(10 * 86400))
    assert code == 2 and "maximum token lifetime" in output
