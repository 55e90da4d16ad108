"""Rebuild profiles from the input topics: all customers or one, from the beginning or a timestamp.

The rebuild reads a range of the input topics fixed at its start, applies the events with the
service's own batch processor in event-time mode (now = the highest event time read) and with no late
horizon (a replay is not late), and writes into a target schema: a fresh shadow schema by
default, or the live one (`in_place`, with the live service stopped). Duplicates are recognised
by the target's inbox, so replaying a range twice, or replaying from a timestamp on top of
existing profiles, counts nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tierflow_common.db.migrations import upgrade_to_head_async
from tierflow_profile.bootstrap import MIGRATIONS_DIR, build_rebuild
from tierflow_profile.settings import ProfileSettings

Progress = Callable[[int, int], None]
"""Called with (messages read, messages to read)."""


@dataclass(frozen=True)
class RebuildReport:
    schema: str
    read: int
    applied: int
    duplicates: int
    skipped: int
    customers: int


async def rebuild(
    settings: ProfileSettings,
    *,
    schema: str,
    customer_id: str | None = None,
    since: datetime | None = None,
    publish: bool = False,
    progress: Progress | None = None,
) -> RebuildReport:
    """Replay the input topics into `schema`; publish the new profile versions only if asked."""
    database_url = settings.infra.database_url.get_secret_value()
    await upgrade_to_head_async(MIGRATIONS_DIR, database_url=database_url, schema=schema)
    job = build_rebuild(settings, schema=schema, customer_id=customer_id, since=since, publish=publish)
    reader, service, clock, producer = job.reader, job.service, job.clock, job.producer
    applied = duplicates = 0
    customers: set[str] = set()
    try:
        if producer is not None:
            await producer.start()
        total = (await reader.open()).total
        async for batch in reader.batches():
            for delivery in batch:
                clock.observe(delivery.event.occurred_at)
            outcome = await service.process(batch)
            duplicates += len(outcome.duplicates)
            applied += len(batch) - len(outcome.duplicates)
            customers.update(d.event.customer_id for d in batch)
            if progress is not None:
                progress(reader.read, total)
        if progress is not None:
            progress(total, total)
    finally:
        await reader.close()
        if producer is not None:
            await producer.stop()
        await job.dispose()
    return RebuildReport(
        schema=schema,
        read=reader.read,
        applied=applied,
        duplicates=duplicates,
        skipped=reader.skipped,
        customers=len(customers),
    )
