"""The "active versioned document" registry: every version ever stored, exactly one active.

A registry keeps the versions of one kind of document (a tier policy, a churn model, a routing
policy) in one table with the columns `version`, `created_at`, `active` and `activated_at`, beside
the kind's own columns (a jsonb document, or the figures themselves). A `DocumentKind` maps a
document to those columns and back. A version once stored never changes: storing other content
under a known version is refused.

Every write holds a transaction lock (`tierflow_common.db.locks`), so replicas starting together
install the shipped default once and concurrent activations serialise. A `Follower` holds what is
active in memory, reloads it every few seconds and calls back when it changes (the services then
make the customers decided under the old version due again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import RowMapping, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tierflow_common.db.locks import hold_until_commit
from tierflow_common.exceptions import Conflict, NotFound

log = logging.getLogger(__name__)

T = TypeVar("T")
V = TypeVar("V")

Row = RowMapping
"""A registry row by column name."""


class VersionConflict(Conflict):
    """A version is already stored with other content."""


class UnknownVersion(NotFound):
    """No version of that name is stored."""


@dataclass(frozen=True)
class DocumentKind(Generic[T]):
    """How one kind of versioned document maps to the columns of its registry table.

    `to_row` gives the columns that hold the document (all but `version` and the bookkeeping);
    `content` names those that must be equal for a known version to be stored again (the rest,
    such as a description, follow from them or describe the upload). `name` appears in errors
    ("no churn model x"); `conflict_hint` is appended to the conflict message.
    """

    name: str
    version_of: Callable[[T], str]
    to_row: Callable[[T], Mapping[str, Any]]
    from_row: Callable[[Row], T]
    content: tuple[str, ...]
    conflict_hint: str = ""


@dataclass(frozen=True)
class StoredVersion(Generic[T]):
    """A stored version: the document, whether it is the active one, and its whole row."""

    document: T
    active: bool
    row: Row


class Registry(Generic[T]):
    """The versions of one kind of document in `table`; every write holds the transaction lock `lock`.

    Methods take a connection in the caller's transaction; the lock is held until it commits.
    """

    def __init__(self, table: Table, kind: DocumentKind[T], *, lock: str | None = None) -> None:
        missing = {"version", "created_at", "active", "activated_at"} - set(table.c.keys())
        if missing:
            raise ValueError(f"registry table {table.name} lacks {', '.join(sorted(missing))}")
        self.table = table
        self.kind = kind
        self.lock = lock or table.name

    async def store(
        self,
        conn: AsyncConnection,
        document: T,
        *,
        now: datetime,
        activate: bool,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Record a version (refusing other content under a known version); optionally activate it.

        `details` fills the columns that describe this upload rather than the document (who
        stored it, how a model was fitted). Returns True when the active version changed.
        """
        await hold_until_commit(conn, self.lock)
        t, kind = self.table, self.kind
        version = kind.version_of(document)
        values = dict(kind.to_row(document))
        columns = [t.c[c] for c in kind.content]
        row = (await conn.execute(select(t.c.active, *columns).where(t.c.version == version))).first()
        if row is not None and any(row._mapping[c] != values[c] for c in kind.content):
            raise VersionConflict(
                f"{kind.name} version {version} already exists with another content{kind.conflict_hint}"
            )
        if row is None:
            await conn.execute(
                insert(t).values(version=version, **values, **(details or {}), created_at=now, active=False)
            )
        if not activate or (row is not None and row.active):
            return False
        await self._make_active(conn, version, now)
        return True

    async def activate(self, conn: AsyncConnection, version: str, *, now: datetime) -> None:
        """Make a stored version the active one (its activation time is now); UnknownVersion if absent."""
        await hold_until_commit(conn, self.lock)
        t = self.table
        if (await conn.execute(select(t.c.version).where(t.c.version == version))).first() is None:
            raise UnknownVersion(f"no {self.kind.name} {version}")
        await self._make_active(conn, version, now)

    async def active(self, conn: AsyncConnection) -> T | None:
        """The active document, or None before anything was activated."""
        row = (await conn.execute(select(self.table).where(self.table.c.active))).first()
        return None if row is None else self.kind.from_row(row._mapping)

    async def install_default(
        self,
        conn: AsyncConnection,
        default: Callable[[], T],
        *,
        now: datetime,
        details: Mapping[str, Any] | None = None,
    ) -> bool:
        """Store and activate `default()` when nothing is active yet; True if it was installed.

        The lock is taken first, so replicas starting together install it once: the others wait,
        then find it active.
        """
        await hold_until_commit(conn, self.lock)
        t = self.table
        if (await conn.execute(select(t.c.version).where(t.c.active))).first() is not None:
            return False
        return await self.store(conn, default(), now=now, activate=True, details=details)

    async def versions(self, conn: AsyncConnection) -> list[StoredVersion[T]]:
        """Every stored version, oldest first."""
        t = self.table
        rows = await conn.execute(select(t).order_by(t.c.created_at))
        return [StoredVersion(self.kind.from_row(r._mapping), bool(r.active), r._mapping) for r in rows]

    async def _make_active(self, conn: AsyncConnection, version: str, now: datetime) -> None:
        t = self.table
        await conn.execute(update(t).where(t.c.active).values(active=False))
        await conn.execute(update(t).where(t.c.version == version).values(active=True, activated_at=now))


class Follower(Generic[V]):
    """Holds what is active, reloads it every `refresh_s` seconds and calls `on_change` when it changed.

    `load` reads the active value in one connection (one registry's `active`, or several read
    together); `key` tells two values apart (their versions). `on_change(value, initial)` runs after
    the first load (`initial=True`) and after every change of the key, so a service can make the
    customers decided under another version due again.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        load: Callable[[AsyncConnection], Awaitable[V]],
        key: Callable[[V], Hashable],
        on_change: Callable[[V, bool], Awaitable[None]],
        refresh_s: float = 10.0,
        name: str = "active version",
    ) -> None:
        self._engine = engine
        self._load = load
        self._key = key
        self._on_change = on_change
        self._refresh_s = refresh_s
        self._name = name
        self._held: tuple[V] | None = None  # None until the first load (V itself may include None)

    @property
    def current(self) -> V:
        """The value loaded last; `refresh` must have run once."""
        if self._held is None:
            raise RuntimeError(f"{self._name} not loaded yet: refresh first")
        return self._held[0]

    async def refresh(self) -> bool:
        """Reload; True when the value changed since the previous load (the first load is no change)."""
        async with self._engine.connect() as conn:
            value = await self._load(conn)
        held, self._held = self._held, (value,)
        initial = held is None
        changed = held is None or self._key(value) != self._key(held[0])
        if changed:
            await self._on_change(value, initial)
        return changed and not initial

    async def run(self, stop: asyncio.Event) -> None:
        """Background task: refresh every `refresh_s` seconds until `stop` is set; failures are logged."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._refresh_s)
            except TimeoutError:
                try:
                    await self.refresh()
                except Exception as exc:
                    log.warning("%s refresh failed", self._name, extra={"error": type(exc).__name__})
