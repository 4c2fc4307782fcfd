"""Case events stored in batches: one read and one write for a batch, the same outcome as one
event at a time, and a write that lost a race to another replica applied again alone."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.clock import utcnow
from services.common.contracts import CaseStatus
from services.common.mongo import MongoDatabase
from services.notify.deadlines import DeadlineStore
from tests.integration.notify.conftest import Cases, short_policy

pytestmark = pytest.mark.integration


@pytest.fixture
async def store(notify_db: MongoDatabase) -> DeadlineStore:
    deadlines = DeadlineStore(notify_db, short_policy(), utcnow)
    await deadlines.ensure_indexes()
    return deadlines


async def _version(store: DeadlineStore, case_id: str) -> Any:
    doc = await store.collection.find_one({"_id": case_id})
    return doc and doc["version"]


async def test_a_batch_stores_each_case_latest_state_once(
    store: DeadlineStore, cases: Cases
) -> None:
    first = await cases.assign(60, publish=False)
    other = await cases.assign(60, publish=False)
    later = await cases.update(first, CaseStatus.ACKNOWLEDGED, 120, publish=False)
    outcomes = await store.apply_many([first, other, later, other])
    assert outcomes == [True, True, True, False], "the repeated event changes nothing"
    assert await _version(store, first.case_id) == 2
    assert await _version(store, other.case_id) == 1
    assert await store.apply_many([first, other]) == [False, False], "older or the same"


class RacingReplica:
    """The deadline store's database, where another replica stores a case's newer state
    between this batch's read and its write."""

    def __init__(self, db: MongoDatabase, rival: DeadlineStore, event: Any) -> None:
        self._db, self._rival, self._event = db, rival, event

    @property
    def deadlines(self) -> Any:
        return _RacingCollection(self._db.deadlines, self._rival, self._event)


class _RacingCollection:
    def __init__(self, collection: Any, rival: DeadlineStore, event: Any) -> None:
        self._collection, self._rival, self._event = collection, rival, event

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def bulk_write(self, *args: Any, **kwargs: Any) -> Any:
        await self._rival.apply(self._event)
        return await self._collection.bulk_write(*args, **kwargs)


async def test_a_write_that_lost_a_race_is_applied_again_over_the_winner(
    store: DeadlineStore, notify_db: MongoDatabase, cases: Cases
) -> None:
    case = await cases.assign(60, publish=False)
    assert await store.apply(case)
    rivals = await cases.update(case, CaseStatus.ACKNOWLEDGED, 120, publish=False)
    ours = await cases.update(case, CaseStatus.IN_PROGRESS, 180, publish=False)
    racing = DeadlineStore(RacingReplica(notify_db, store, rivals), short_policy(), utcnow)  # type: ignore[arg-type]
    assert await racing.apply_many([ours]) == [True]
    stored = await store.collection.find_one({"_id": case.case_id})
    assert stored is not None
    assert (stored["version"], stored["status"], stored["rev"]) == (3, "in_progress", 3)
