"""Services as separate processes, as they run in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def start_service(module: str, *args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m module args` with `env` on top of ours; output goes to `log`."""
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """kill -9: no drain, no commit, no goodbye."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def terminate(process: subprocess.Popen[bytes], *, timeout_s: float = 30) -> int:
    """SIGTERM and wait for the drain; return the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout_s)


def log_tails(directory: Path, pattern: str = "*.log", chars: int = 2000) -> dict[str, str]:
    """The end of each service log in `directory`, to explain a failed assertion about the processes."""
    return {path.name: path.read_text()[-chars:] for path in sorted(directory.glob(pattern))}
