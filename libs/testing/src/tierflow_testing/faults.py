"""Faults injected into the embedded servers: a paused broker, a dead Redis, PostgreSQL cut, restarted, read-only."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from dataclasses import dataclass, field

import asyncpg

from tierflow_common.infra.embedded import EmbeddedStack, wait_for_port


@dataclass
class FaultLog:
    """What was injected, when (seconds since the run started), for the report."""

    entries: list[tuple[float, str]] = field(default_factory=list)

    def add(self, at: float, what: str) -> None:
        """Note a fault (and print it, so a run shows its progress)."""
        self.entries.append((round(at, 1), what))
        print(f"  {at:6.1f}s  {what}", flush=True)


class Faults:
    """Controls over the servers of one embedded stack (never a shared or external server)."""

    def __init__(self, stack: EmbeddedStack) -> None:
        assert stack.database_url and stack.redis_url and stack.kafka_bootstrap, "start the whole stack first"
        self._stack = stack
        self._database_url = stack.database_url
        self._redis_port = int(stack.redis_url.rsplit(":", 1)[1].split("/")[0])

    async def _admin(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(self._database_url)
        await conn.execute("SET default_transaction_read_only = off")
        return conn

    async def terminate_backends(self) -> int:
        """pg_terminate_backend on every client session but ours; how many were cut."""
        conn = await self._admin()
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
            )
        finally:
            await conn.close()

    async def restart_postgres(self) -> None:
        """A fast restart: every session is cut, the server is back on the same socket."""
        await asyncio.to_thread(self._stack.restart_postgres)

    async def read_only(self, on: bool) -> None:
        """Make every new transaction read-only (as after a failover to a standby), or writable again."""
        conn = await self._admin()
        try:
            await conn.execute(f"ALTER SYSTEM SET default_transaction_read_only = {'on' if on else 'off'}")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def kill_redis(self) -> None:
        """kill -9 the Redis server (it keeps nothing on disk: everything cached is gone)."""
        process = self._stack.process("redis")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    async def start_redis(self) -> None:
        """A new, empty Redis on the same port."""
        await asyncio.to_thread(self._stack.start_redis, self._redis_port)
        await asyncio.to_thread(wait_for_port, "127.0.0.1", self._redis_port, timeout_s=20)

    def pause_broker(self) -> subprocess.Popen[bytes]:
        """SIGSTOP the broker: connections stay open, nothing answers."""
        process = self._stack.process("kafka")
        process.send_signal(signal.SIGSTOP)
        return process

    def resume_broker(self) -> None:
        """SIGCONT the broker."""
        self._stack.process("kafka").send_signal(signal.SIGCONT)
