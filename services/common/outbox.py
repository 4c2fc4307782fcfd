"""Transactional outbox kept inside each document: the state and its events are one atomic write.

A document with events to announce carries `outbox: [entries]` and `outbox_since: <time>`
(sparse-indexed). The relay leases a batch of pending documents (so that relays of several
replicas never publish the same events at once), publishes their entries with confirms, then
pulls them; a crash between the publish and the pull publishes them again once the lease has
run out (consumers are idempotent, and the message id is the event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateMany
from pymongo.asynchronous.collection import AsyncCollection

from services.common import metrics
from services.common.amqp import OutgoingMessage, Publisher
from services.common.clock import EPOCH, Clock, utcnow
from services.common.contracts import AnyEvent
from services.common.runtime import raise_if_cancelling

log = logging.getLogger(__name__)

OUTBOX = "outbox"
OUTBOX_SINCE = "outbox_since"
LEASE = "outbox_lease"
LEASE_UNTIL = "outbox_lease_until"
LEASE_SECONDS = 30.0
# Pending documents are found by a bounded range on `outbox_since` and leases compared with a
# plain `$lt`: `$exists` and `$or` make some servers (SecantusDB) scan the whole collection.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
PENDING = {OUTBOX_SINCE: {"$gte": EPOCH, "$lt": FAR_FUTURE}}


def outbox_entry(event: AnyEvent) -> dict[str, Any]:
    """The stored form of one pending event."""
    message = OutgoingMessage.of(event)
    return {
        "event_id": message.event_id,
        "type": message.event_type,
        "routing_key": message.routing_key,
        "body": message.body.decode(),
        "occurred_at": event.occurred_at,
    }


def outbox_fields(events: list[AnyEvent], now: datetime) -> dict[str, Any]:
    """Fields to put on a new document so its events get published."""
    return {OUTBOX: [outbox_entry(e) for e in events], OUTBOX_SINCE: now, LEASE_UNTIL: EPOCH}


def outbox_update(events: list[AnyEvent], now: datetime) -> dict[str, Any]:
    """Update operators appending events to an existing document's outbox."""
    return {
        "$push": {OUTBOX: {"$each": [outbox_entry(e) for e in events]}},
        "$min": {OUTBOX_SINCE: now},
        "$max": {LEASE_UNTIL: EPOCH},  # adds a free lease; leaves a held one alone
    }


async def ensure_outbox_index(collection: AsyncCollection[dict[str, Any]]) -> None:
    """The sparse index the relay finds pending documents through."""
    await collection.create_index(OUTBOX_SINCE, sparse=True, name="outbox_pending")


class OutboxRelay:
    """Publishes pending outbox entries of one collection, woken on write or by a poll."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        publisher: Publisher,
        *,
        batch: int = 200,
        poll_seconds: float = 0.5,
        linger_seconds: float = 0.0,
        clock: Clock = utcnow,
    ) -> None:
        self.collection = collection
        self.publisher = publisher
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self.clock = clock
        self._wake = asyncio.Event()
        self._label = collection.name

    def wake(self) -> None:
        """Tell the relay new events were stored."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled; back off while the broker or database is down."""
        failures = 0
        while True:
            try:
                published = await self.publish_pending()
                failures = 0
            except Exception as exc:  # broker or database down: the events stay stored
                raise_if_cancelling()
                failures += 1
                metrics.PUBLISH_FAILURES.labels(collection=self._label).inc()
                delay = min(0.25 * 2**failures, 10.0)
                log.warning(
                    "outbox relay could not publish; will retry",
                    extra={"collection": self._label, "error": repr(exc), "retry_in": delay},
                )
                await asyncio.sleep(delay)
                continue
            if published < self.batch:
                await self._idle()

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            # Woken by a write: let the writes arriving right behind it join the batch, since
            # each batch costs the same few database round trips however many events it holds.
            await asyncio.sleep(self.linger_seconds)
        self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of pending events and mark them sent; return how many."""
        self._wake.clear()
        docs, token = await self._lease_batch()
        entries = [entry for doc in docs for entry in doc.get(OUTBOX, [])]
        if entries:
            try:
                await self.publisher.publish_many([_message(entry) for entry in entries])
            except Exception:
                await self._release([doc["_id"] for doc in docs], token)
                raise
        await self._mark_sent([doc["_id"] for doc in docs], [e["event_id"] for e in entries])
        self._observe([entry["occurred_at"] for entry in entries])
        return len(entries)

    async def _lease_batch(self) -> tuple[list[dict[str, Any]], str]:
        """Pending documents no other relay holds, leased to this one; their outboxes."""
        now = self.clock()
        pending = (
            await self.collection.find(PENDING, {LEASE_UNTIL: 1})
            .sort(OUTBOX_SINCE, 1)
            .limit(self.batch)
            .to_list()
        )
        docs = [doc for doc in pending if doc.get(LEASE_UNTIL, EPOCH) < now]
        token = uuid.uuid4().hex
        if not docs:
            return [], token
        ids = [doc["_id"] for doc in docs]
        leased = await self.collection.update_many(
            {"_id": {"$in": ids}, LEASE_UNTIL: {"$lt": now}},
            {"$set": {LEASE: token, LEASE_UNTIL: now + timedelta(seconds=LEASE_SECONDS)}},
        )
        if leased.modified_count == 0:
            return [], token
        # Read again what this relay now holds: the first read may predate another relay's
        # publish of the same entries, and publishing from it would send them twice.
        held = self.collection.find({"_id": {"$in": ids}, LEASE: token}, {OUTBOX: 1})
        return await held.to_list(), token

    async def _release(self, doc_ids: list[Any], token: str) -> None:
        """Give up a lease after a failed publish so the retry need not wait for it to expire."""
        with contextlib.suppress(Exception):  # the database may be down too: the lease expires
            await self.collection.update_many(
                {"_id": {"$in": doc_ids}, LEASE: token},
                {"$set": {LEASE_UNTIL: EPOCH}, "$unset": {LEASE: ""}},
            )

    async def _mark_sent(self, doc_ids: list[Any], event_ids: list[str]) -> None:
        """Pull the published entries (events added since stay), then clear emptied outboxes."""
        if not doc_ids:
            return
        published = {
            "$pull": {OUTBOX: {"event_id": {"$in": event_ids}}},
            "$set": {LEASE_UNTIL: EPOCH},
            "$unset": {LEASE: ""},
        }
        emptied = {"_id": {"$in": doc_ids}, OUTBOX: {"$size": 0}}
        await self.collection.bulk_write(
            [
                UpdateMany({"_id": {"$in": doc_ids}}, published),
                UpdateMany(emptied, {"$unset": {OUTBOX_SINCE: ""}}),
            ],
            ordered=True,
        )

    def _observe(self, occurred: list[datetime]) -> None:
        now = self.clock()
        metrics.OUTBOX_PUBLISHED.labels(collection=self._label).inc(len(occurred))
        for at in occurred:
            metrics.PUBLISH_LATENCY.labels(collection=self._label).observe(
                max((now - at).total_seconds(), 0.0)
            )

    async def backlog(self) -> int:
        """How many documents still have events to publish (also exported as a gauge)."""
        count = await self.collection.count_documents(PENDING)
        metrics.OUTBOX_BACKLOG.labels(collection=self._label).set(count)
        return count


def _message(entry: dict[str, Any]) -> OutgoingMessage:
    return OutgoingMessage(
        entry["event_id"], entry["type"], entry["routing_key"], entry["body"].encode()
    )
