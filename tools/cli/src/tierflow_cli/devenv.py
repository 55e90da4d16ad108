"""The running development stack's addresses and dev secret, shared with later CLI commands."""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR = Path(os.environ.get("TIERFLOW_STATE_DIR", ".tierflow"))
DEV_ENV = STATE_DIR / "dev.env"


def write_dev_env(values: dict[str, str]) -> Path:
    """Record the stack's settings (mode 0600: it holds the dev JWT secret)."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    DEV_ENV.write_text("".join(f"{k}={v}\n" for k, v in sorted(values.items())))
    DEV_ENV.chmod(0o600)
    return DEV_ENV


def load_dev_env() -> None:
    """Fill unset environment variables from the running stack's dev.env, if there is one."""
    if not DEV_ENV.exists():
        return
    for line in DEV_ENV.read_text().splitlines():
        key, _, value = line.partition("=")
        if key and key not in os.environ:
            os.environ[key] = value
