"""Pytest plugin: real infrastructure for the session, a private namespace per test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

from tierflow_common.config import InfraSettings, ServiceSettings
from tierflow_common.db.migrations import upgrade_to_head_async
from tierflow_common.events.topics import Topics
from tierflow_common.kafka.admin import ensure_topics
from tierflow_common.runtime import ServiceRuntime, serve
from tierflow_testing.infra import Infra, InfrastructureUnavailable, start_infra

S = TypeVar("S", bound=ServiceSettings)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Every service that verifies tokens refuses to start without a safe key (also in TIERFLOW_ENV=test),
# so settings and subprocess environments built here carry this one unless a test sets its own.
TEST_JWT_SECRET = "tierflow-test-jwt-secret-6f1c2a9e4b7d8053"


def unavailable(message: str) -> NoReturn:
    """Something a test needs is missing: under CI=true the run fails, elsewhere it is a visible skip."""
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: talks to the real broker, PostgreSQL and Redis")
    config.addinivalue_line("markers", "e2e: runs the whole system as separate processes")
    config.addinivalue_line(
        "markers", "faults: the fault-injection run on its own embedded stack (make test-faults; once per make test)"
    )
    config.addinivalue_line(
        "markers", "contract: checks an interface, not the infrastructure (run once, not again in the external pass)"
    )


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    """Real servers for the whole session. Under CI=true, unavailability fails the run; never a skip.

    Their directory is not under pytest's basetemp: the embedded PostgreSQL runs as its own user and must
    reach its data directory, and every pytest session that starts on the machine makes
    /tmp/pytest-of-<user> private (0700) again, which killed a running suite's database at its next
    checkpoint ("could not open pg_control: Permission denied") when a second session started beside it.
    The embedded PostgreSQL's runtime directory (root's lock files, written again at exit) stays under the
    basetemp, which pytest cleans.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("runtime")))
    workdir = Path(tempfile.mkdtemp(prefix="tierflow-test-"))
    try:
        found, stack = start_infra(workdir)
    except InfrastructureUnavailable as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        unavailable(f"the test infrastructure is unavailable: {exc}")
    try:
        yield found
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class Namespace:
    """Names private to one test: topic prefix, consumer groups, database schemas, Redis keys."""

    name: str
    infra: Infra

    @property
    def topics(self) -> Topics:
        return Topics(f"{self.name}.")

    def schema(self, service: str) -> str:
        return f"{self.name}_{service}"

    def group(self, service: str) -> str:
        return f"{self.name}-{service}"

    def infra_settings(self) -> InfraSettings:
        return InfraSettings(
            KAFKA_BOOTSTRAP_SERVERS=self.infra.kafka_bootstrap,
            DATABASE_URL=self.infra.database_url,
            REDIS_URL=self.infra.redis_url,
            TIERFLOW_TOPIC_PREFIX=self.topics.prefix,
            TIERFLOW_ENV="test",
        )

    @property
    def session_timeout_ms(self) -> int:
        """The embedded broker completes a group join after half the session timeout, so keep it short
        there; Apache Kafka refuses sessions under 6 s by default."""
        return 3000 if "kafka" in self.infra.embedded else 6000

    def settings(self, cls: type[S], service: str, **overrides: Any) -> S:
        """Service settings pointing at this namespace, tuned for quick tests."""
        values: dict[str, Any] = {
            "infra": self.infra_settings(),
            "consumer_group": self.group(service),
            "db_schema": self.schema(service),
            "batch_timeout_ms": 50,
            "session_timeout_ms": self.session_timeout_ms,
            "retry_backoff_ms": 20,
            "retry_backoff_max_ms": 200,
            "sweep_interval_s": 0.2,
        }
        if "jwt_secret" in cls.model_fields:
            values["jwt_secret"] = TEST_JWT_SECRET
        values.update(overrides)
        return cls(**values)

    def env(self, prefix: str, service: str) -> dict[str, str]:
        """Environment variables giving a subprocess the same namespace."""
        return {
            **self.infra.env(),
            "TIERFLOW_TOPIC_PREFIX": self.topics.prefix,
            "TIERFLOW_ENV": "test",
            f"{prefix}CONSUMER_GROUP": self.group(service),
            f"{prefix}DB_SCHEMA": self.schema(service),
            f"{prefix}BATCH_TIMEOUT_MS": "50",
            f"{prefix}SESSION_TIMEOUT_MS": str(self.session_timeout_ms),
            f"{prefix}SWEEP_INTERVAL_S": "0.5",
            f"{prefix}JWT_SECRET": TEST_JWT_SECRET,
        }


@pytest.fixture
async def ns(infra: Infra) -> Namespace:
    """A fresh namespace with every contract topic created (3 partitions each)."""
    namespace = Namespace(f"t{uuid.uuid4().hex[:10]}", infra)
    await ensure_topics({"bootstrap_servers": infra.kafka_bootstrap}, namespace.topics.all, partitions=3)
    return namespace


async def migrate(settings: ServiceSettings, migrations_dir: Path) -> None:
    """Apply a service's migrations into the settings' schema."""
    await upgrade_to_head_async(
        migrations_dir, database_url=settings.infra.database_url.get_secret_value(), schema=settings.db_schema
    )


@contextlib.asynccontextmanager
async def running(runtime: ServiceRuntime, *, ops_port: int = 0) -> AsyncIterator[ServiceRuntime]:
    """Run a service in this event loop; on exit drain it as SIGTERM would and check it exited 0."""
    task = asyncio.create_task(serve(runtime, ops_host="127.0.0.1", ops_port=ops_port))
    try:
        for _ in range(300):
            if runtime.loop.running or task.done():
                break
            await asyncio.sleep(0.05)
        if task.done():
            task.result()
        yield runtime
    finally:
        runtime.loop.request_stop()
        exit_code = await asyncio.wait_for(task, 60)
        assert exit_code == 0, f"{runtime.name} exited with {exit_code}"


BuildFn = Callable[[Any], ServiceRuntime]
