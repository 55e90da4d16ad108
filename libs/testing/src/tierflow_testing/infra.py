"""The infrastructure a test run talks to: configured servers, or embedded ones started for the run."""

from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from tierflow_common.infra.embedded import EmbeddedStack


class InfrastructureUnavailable(RuntimeError):
    """A broker, database or Redis the tests need cannot be reached or started."""


@dataclass(frozen=True)
class Infra:
    """Addresses of the real servers under test."""

    kafka_bootstrap: str
    database_url: str
    redis_url: str
    embedded: tuple[str, ...]

    def env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
        }


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _check_kafka(bootstrap: str) -> None:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    if not _reachable(host or "127.0.0.1", int(port)):
        raise InfrastructureUnavailable(f"Kafka broker {bootstrap} (KAFKA_BOOTSTRAP_SERVERS) is not reachable")


def _check_url(name: str, url: str, default_port: int) -> None:
    parsed = urlparse(url)
    if parsed.hostname in (None, "") or (parsed.query and "host=/" in parsed.query):
        return  # unix socket: checked by the first real connection
    if not _reachable(parsed.hostname or "127.0.0.1", parsed.port or default_port):
        raise InfrastructureUnavailable(f"{name} at {parsed.hostname}:{parsed.port or default_port} is not reachable")


def start_infra(workdir: Path | None = None) -> tuple[Infra, EmbeddedStack]:
    """Use KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL / REDIS_URL when set; start embedded servers otherwise.

    TIERFLOW_TEST_INFRA=local uses the machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379)
    for whatever is not set, with the embedded broker.
    """
    stack = EmbeddedStack(workdir or Path(tempfile.mkdtemp(prefix="tierflow-test-")))
    embedded: list[str] = []
    mode = os.environ.get("TIERFLOW_TEST_INFRA", "embedded")
    try:
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if kafka:
            _check_kafka(kafka)
        else:
            kafka = stack.start_kafka()
            embedded.append("kafka")
        database = os.environ.get("DATABASE_URL") or (
            "postgresql://postgres@127.0.0.1:5432/postgres" if mode == "local" else None
        )
        if database:
            _check_url("PostgreSQL", database, 5432)
        else:
            database = stack.start_postgres()
            embedded.append("postgres")
        redis = os.environ.get("REDIS_URL") or ("redis://127.0.0.1:6379/0" if mode == "local" else None)
        if redis:
            _check_url("Redis", redis, 6379)
        else:
            redis = stack.start_redis()
            embedded.append("redis")
    except InfrastructureUnavailable:
        stack.stop()
        raise
    except Exception as exc:
        stack.stop()
        raise InfrastructureUnavailable(f"could not start embedded infrastructure: {exc}") from exc
    return Infra(kafka, database, redis, tuple(embedded)), stack
