"""Case events stored in batches: one read and one write for a batch, the same outcome as one
event at a time, and a write that lost a race to another replica applied again alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from services.common.amqp import OutgoingMessage, Topology
from services.common.clock import utcnow
from services.common.contracts import CaseAssigned, CaseStatus, parse_event
from services.common.mongo import MongoDatabase
from services.notify.deadlines import DeadlineStore
from services.notify.settings import NotifySettings
from tests.helpers import counting_database, get_all, wait_until
from tests.integration.notify.conftest import Cases, short_policy, start_notify

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


async def test_a_batch_of_the_events_that_created_cases_is_stored_unread_in_one_command(
    store: DeadlineStore, notify_db: MongoDatabase, mongo_url: str, cases: Cases
) -> None:
    created = [await cases.assign(60, publish=False) for _ in range(3)]
    async with counting_database(mongo_url, notify_db.name) as (db, commands):
        counted = DeadlineStore(db, short_policy(), utcnow)

        assert await counted.apply_many(created) == [True, True, True]
        assert commands.names == {"insert": 1}

        commands.names.clear()
        assert await counted.apply_many(created) == [False, False, False], "delivered again"
        assert commands.names["find"] == 3, "each refused insert is applied alone, reading"
    for case in created:
        assert await _version(store, case.case_id) == 1


class RacingReplica:
    """The deadline store's database, where another replica (or a scanner) writes between this
    batch's read and its write."""

    def __init__(self, db: MongoDatabase, meanwhile: Callable[[], Awaitable[object]]) -> None:
        self._db, self._meanwhile = db, meanwhile

    @property
    def deadlines(self) -> Any:
        return _RacingCollection(self._db.deadlines, self._meanwhile)


class _RacingCollection:
    def __init__(self, collection: Any, meanwhile: Callable[[], Awaitable[object]]) -> None:
        self._collection, self._meanwhile = collection, meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def bulk_write(self, *args: Any, **kwargs: Any) -> Any:
        await self._meanwhile()
        return await self._collection.bulk_write(*args, **kwargs)


def racing(db: MongoDatabase, meanwhile: Callable[[], Awaitable[object]]) -> DeadlineStore:
    return DeadlineStore(RacingReplica(db, meanwhile), short_policy(), utcnow)  # type: ignore[arg-type]


async def test_a_write_that_lost_a_race_is_applied_again_over_the_winner(
    store: DeadlineStore, notify_db: MongoDatabase, cases: Cases
) -> None:
    case = await cases.assign(60, publish=False)
    assert await store.apply(case)
    rivals = await cases.update(case, CaseStatus.ACKNOWLEDGED, 120, publish=False)
    ours = await cases.update(case, CaseStatus.IN_PROGRESS, 180, publish=False)
    assert await racing(notify_db, lambda: store.apply(rivals)).apply_many([ours]) == [True]
    stored = await store.collection.find_one({"_id": case.case_id})
    assert stored is not None
    assert (stored["version"], stored["status"], stored["rev"]) == (3, "in_progress", 3)


async def test_only_the_writes_that_lost_a_race_are_applied_again(
    store: DeadlineStore, notify_db: MongoDatabase, cases: Cases
) -> None:
    first, second = await cases.assign(60, publish=False), await cases.assign(60, publish=False)
    assert await store.apply_many([first, second]) == [True, True]
    ours = [
        await cases.update(first, CaseStatus.ACKNOWLEDGED, 120, publish=False),
        await cases.update(second, CaseStatus.ACKNOWLEDGED, 120, publish=False),
    ]

    async def scanner_claims_the_second() -> None:  # a claim moves `rev` on, not `version`
        await store.collection.update_one({"_id": second.case_id}, {"$inc": {"rev": 1}})

    assert await racing(notify_db, scanner_claims_the_second).apply_many(ours) == [True, True], (
        "the update that landed is reported stored; the other is stored on its second try"
    )
    for case_id, rev in ((first.case_id, 2), (second.case_id, 3)):
        stored = await store.collection.find_one({"_id": case_id})
        assert stored is not None and (stored["version"], stored["rev"]) == (2, rev)


async def test_a_case_event_on_an_unreadable_deadline_is_dead_lettered_alone(
    notify_settings: NotifySettings,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    await notify_db.deadlines.insert_one({"_id": "case-unreadable", "version": "one", "rev": 1})
    client = await start_notify(notify_settings, short_policy())
    try:
        bad = await cases.assign(60, case_id="case-unreadable", publish=False)
        good = [await cases.assign(60, publish=False) for _ in range(5)]
        await cases.publisher.publish_many([OutgoingMessage.of(e) for e in [bad, *good]])

        async def all_stored() -> bool:
            ids = [e.case_id for e in good]
            return await notify_db.deadlines.count_documents({"_id": {"$in": ids}}) == len(ids)

        await wait_until(all_stored, what="the batch's other cases stored")

        async def dead() -> list[AbstractIncomingMessage]:
            return await get_all(amqp_connection, topology.queue("notify.cases.dead"))

        (message,) = await wait_until(dead, timeout=30, what="the poison event dead-lettered")
        dead_event = parse_event(message.body)
        assert isinstance(dead_event, CaseAssigned) and dead_event.case_id == "case-unreadable"
    finally:
        await client.close()
