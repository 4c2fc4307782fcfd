"""Start-up migrations that read a whole collection, run until a start finds nothing to do.

Some migrations look for what an earlier version stored with a query no index serves (a field
only old documents have, a combination of values), so each reads every document of its
collection. Run at every start, they made a service start slower as its data grew: routing's
two took 2.8 s at 20,000 cases on the embedded database, and the service is not ready
meanwhile. A migration run through `until_clean` runs at each start until one finds nothing to
change; a document in `migrations` then records that, and later starts skip it. Running until
a clean pass, rather than once, also takes what an older replica still wrote during a rolling
upgrade, provided a start follows it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from services.common.mongo import MongoDatabase

log = logging.getLogger(__name__)

MIGRATIONS = "migrations"


async def ran(db: MongoDatabase, name: str) -> bool:
    """Whether the migration `name` is recorded as done."""
    return await db[MIGRATIONS].find_one({"_id": name}) is not None


async def record(db: MongoDatabase, name: str, now: datetime) -> None:
    """Record the migration `name` as done at `now`; later starts skip it."""
    await db[MIGRATIONS].update_one({"_id": name}, {"$set": {"at": now}}, upsert=True)


async def until_clean(
    db: MongoDatabase, name: str, migrate: Callable[[], Awaitable[int]], now: datetime
) -> int:
    """Run `migrate` (it returns how many documents it changed) unless a clean pass of `name`
    is recorded; record one when it changed nothing. Returns what it changed."""
    if await ran(db, name):
        return 0
    changed = await migrate()
    if changed == 0:
        await record(db, name, now)
        log.info("migration finds nothing left; later starts skip it", extra={"migration": name})
    return changed
