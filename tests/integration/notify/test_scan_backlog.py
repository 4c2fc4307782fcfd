"""A scanner far behind (many alerts overdue at once) reads about a batch per scan, and every
overdue alert is still claimed, oldest first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.common.clock import utcnow
from services.common.mongo import MongoDatabase
from services.notify.deadlines import NEXT_DUE, DeadlineStore
from services.notify.scanner import Scanner
from tests.integration.notify.conftest import Cases, short_policy

pytestmark = pytest.mark.integration


class CountedDue(DeadlineStore):
    """The deadline store, noting how many deadlines each read of due ones matched."""

    matched: list[int]

    async def due(self, until: datetime, limit: int) -> list[dict[str, Any]]:
        self.matched.append(await self.collection.count_documents({NEXT_DUE: {"$lte": until}}))
        return await super().due(until, limit)


async def test_a_scanner_behind_reads_about_a_batch_per_scan_and_claims_every_alert(
    notify_db: MongoDatabase, cases: Cases
) -> None:
    store = CountedDue(notify_db, short_policy(), utcnow)
    store.matched = []
    await store.ensure_indexes()
    # 200 cases whose deadlines passed one every 3 s over the last 10 minutes: every level of
    # each is overdue, 600 alerts in all.
    events = [await cases.assign(-600 + 3 * i, publish=False) for i in range(200)]
    assert await store.apply_many(events) == [True] * 200
    claimed_at: list[datetime] = []

    async def claim(docs: list[dict[str, Any]], now: datetime) -> int:
        claimed_at.extend(doc[NEXT_DUE] for doc in docs)
        return await DeadlineStore.claim(store, docs, now)

    store.claim = claim  # type: ignore[method-assign]
    scanner = Scanner(store, clock=utcnow, interval=1.0, batch=20, on_claimed=lambda: None)
    claimed = 0
    for _ in range(200):
        count, found = await scanner.scan_once()
        claimed += count
        if found == 0 and scanner.caught_up:
            break
    assert claimed == 600, "every level of every case, each once"
    assert await store.collection.count_documents({NEXT_DUE: {"$lte": utcnow()}}) == 0
    assert store.matched[0] == 200, "the first scan, not yet behind, read every overdue one"
    assert max(store.matched[1:]) <= 60, store.matched
    assert claimed_at[:20] == sorted(claimed_at[:20]), "the most overdue first"


async def test_a_claim_tells_the_scanner_when_the_claimed_deadline_falls_due_next(
    notify_db: MongoDatabase, cases: Cases
) -> None:
    told: list[datetime] = []
    store = DeadlineStore(notify_db, short_policy(), utcnow, on_due=told.append)
    await store.ensure_indexes()
    case = await cases.assign(-0.5, publish=False)
    assert await store.apply(case) and case.due_at is not None
    told.clear()

    now = case.due_at + timedelta(milliseconds=100)  # level 1 due, level 2 a second after it
    assert await store.claim(await store.due(now, 10), now) == 1

    stored = await store.collection.find_one({})
    assert stored is not None and stored[NEXT_DUE] > now, "level 2 is still ahead"
    assert told == [stored[NEXT_DUE]]
