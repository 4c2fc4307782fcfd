"""Start-up migrations that read a whole collection stop running once a start finds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.migrations import MIGRATIONS, until_clean
from services.common.mongo import mongo_database

pytestmark = pytest.mark.integration


async def test_a_migration_runs_at_each_start_until_one_finds_nothing_then_never_again(
    mongo_url: str, db_name: str
) -> None:
    found = [3, 1, 0, 5]  # what each pass would change: old documents, then an old replica's
    passes = 0

    async def migrate() -> int:
        nonlocal passes
        passes += 1
        return found[passes - 1]

    now = datetime.now(UTC).replace(microsecond=0)  # as stored: to the millisecond
    async with mongo_database(mongo_url, db_name, timeout_ms=5000) as db:
        try:
            assert await until_clean(db, "things.renamed", migrate, now) == 3
            assert await db[MIGRATIONS].find_one({"_id": "things.renamed"}) is None
            assert await until_clean(db, "things.renamed", migrate, now) == 1
            assert await until_clean(db, "things.renamed", migrate, now) == 0
            marker = await db[MIGRATIONS].find_one({"_id": "things.renamed"})
            assert marker is not None and marker["at"] == now
            assert await until_clean(db, "things.renamed", migrate, now) == 0
            assert passes == 3  # the clean pass was the last one
            # Another migration is recorded on its own.
            assert await until_clean(db, "other.thing", migrate, now) == 5
        finally:
            await db.client.drop_database(db_name)
