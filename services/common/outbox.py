"""Transactional outbox kept inside each document: the state and its events are one atomic write.

A document with events to announce carries `outbox: [entries]` and `outbox_since: <time>`
(sparse-indexed); an entry keeps the trace context it was written in (`trace`), and its
message is published in that context, so the trace goes on past the relay.

One relay at a time publishes a collection's outbox: it holds a short, renewed lease on the
collection (one small document in `outbox_relays`, rewritten every 2.5 s rather than every
round), so replicas never publish the same events at once and no pending document is
written just to lease it. The relay reads a batch, publishes its entries with confirms, then
clears them. A crash between the publish and the clearing publishes them again once the lease
has run out (consumers are idempotent, and the message id is the event id). A slow round
halves the next batch, so a loaded database gets smaller commands rather than ones that time
out and publish their events again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateMany, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.common import metrics, tracing
from services.common.amqp import TRANSIENT_BROKER_ERRORS, OutgoingMessage, Publisher
from services.common.clock import EPOCH, Clock, utcnow
from services.common.contracts import AnyEvent
from services.common.errortext import describe
from services.common.gauges import keep_counting
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.common.read_window import ReadWindow
from services.common.runtime import bounded, raise_if_cancelling, woken

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (*TRANSIENT_BROKER_ERRORS, *TRANSIENT_MONGO_ERRORS)

OUTBOX = "outbox"
OUTBOX_SINCE = "outbox_since"
PENDING_INDEX = "outbox_pending"  # on OUTBOX_SINCE, sparse: `ensure_outbox_index`
RELAYS = "outbox_relays"
LEASE_SECONDS = 12.5
# The holder renews its lease only once less than this is left of it: one small write every
# 2.5 s rather than one per round, and every round starts with at least this long before
# another relay could take the collection over.
RENEW_BELOW = timedelta(seconds=10)
# A round slower than this halves the next batch (down to MIN_BATCH); a quick full round
# doubles it again (up to the configured batch). Far below the database timeout, so a loaded
# database gets smaller commands instead of timed-out ones whose events go out again.
SLOW_ROUND_SECONDS = 1.0
MIN_BATCH = 10
QUARANTINE = "outbox_quarantine"
# Documents per clearing write: the embedded server matches every document of a write against
# its whole `$in` and `$nin` lists (`python -m bench.outbox_clear`).
CLEAR_PART = 25
CLEARED = {"$unset": {OUTBOX: "", OUTBOX_SINCE: ""}}  # an outbox whose events all went out
MAX_ROUTING_KEY_BYTES = 255
# Pending documents are found by a bounded range on `outbox_since`: `$exists` and `$or` make
# some servers (SecantusDB) scan the whole collection.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
PENDING = {OUTBOX_SINCE: {"$gte": EPOCH, "$lt": FAR_FUTURE}}


def outbox_entry(event: AnyEvent) -> dict[str, Any]:
    """The stored form of one pending event, with the trace context it was written in."""
    message = OutgoingMessage.of(event)
    return {
        "event_id": message.event_id,
        "type": message.event_type,
        "routing_key": message.routing_key,
        "body": message.body.decode(),
        "occurred_at": event.occurred_at,
        **tracing.trace_fields(),
    }


# How this process's writes keep their events, chosen once at start (`use_change_streams`):
# - for the clearing relay (`OutboxRelay`), appended to the document's outbox and marked pending
#   (`outbox_since`) until the relay has published and cleared them;
# - for the change-stream relay (`services.common.outbox_stream`), the events of the write
#   alone: the relay reads each write's events from the stream, so a document keeps only those
#   of its last write, and nothing is written to it again once they are published.
_change_streams = False


def use_change_streams(on: bool) -> None:
    """Keep events for the change-stream relay (`on`) or for the clearing one."""
    global _change_streams
    _change_streams = on


def change_streams_used() -> bool:
    """Whether this process keeps its events for the change-stream relay."""
    return _change_streams


def outbox_fields(events: list[AnyEvent], now: datetime) -> dict[str, Any]:
    """Fields to put on a new document so its events get published."""
    entries = [outbox_entry(e) for e in events]
    if _change_streams:
        return {OUTBOX: entries}
    return {OUTBOX: entries, OUTBOX_SINCE: now}


def outbox_update(events: list[AnyEvent], now: datetime) -> dict[str, Any]:
    """Update operators storing events on an existing document: appended to its outbox, or,
    for the change-stream relay, in place of the last write's."""
    entries = [outbox_entry(e) for e in events]
    if _change_streams:
        # `$slice` keeps the array to this write's events; the change holds the whole array.
        return {"$push": {OUTBOX: {"$each": entries, "$slice": -len(entries)}}}
    return {"$push": {OUTBOX: {"$each": entries}}, "$min": {OUTBOX_SINCE: now}}


def with_outbox(update: dict[str, Any], outbox: dict[str, Any]) -> dict[str, Any]:
    """`update` with the operators of `outbox_update` merged into its own."""
    merged = dict(update)
    for operator, fields in outbox.items():
        merged[operator] = {**merged.get(operator, {}), **fields}
    return merged


async def ensure_outbox_index(collection: AsyncCollection[dict[str, Any]]) -> None:
    """The sparse index the clearing relay finds pending documents through.

    Writes kept for the change-stream relay mark nothing pending, so there the index would hold
    no entry and still cost each update of the collection's documents (SecantusDB reads every
    index's definition and rewrites every entry of an updated document: `python -m
    bench.update_cost --absent-index`). It is made only for the clearing relay; its presence
    says that writes made for that relay may wait, and the change-stream relay drops it once it
    has published them (`services.common.outbox_stream`).
    """
    if _change_streams:
        return
    await collection.create_index(OUTBOX_SINCE, sparse=True, name=PENDING_INDEX)


async def may_hold_pending(collection: AsyncCollection[dict[str, Any]]) -> bool:
    """Whether documents of `collection` may wait for the clearing relay: only writes made
    while its index existed (`ensure_outbox_index`) mark any pending."""
    return PENDING_INDEX in await collection.index_information()


class RelayLease:
    """One relay at a time per collection: a short, renewed lease in `outbox_relays`.

    The document (`_id`: the collection's name) holds the holder's random token and until
    when it holds the collection; a change-stream relay keeps its position there too.
    """

    def __init__(self, collection: AsyncCollection[dict[str, Any]], clock: Clock) -> None:
        self.label = collection.name
        self.clock = clock
        self.relays = collection.database[RELAYS]
        self.token = uuid.uuid4().hex
        # The lease as this relay last wrote it: (taken at, until), by its clock.
        self._held: tuple[datetime, datetime] | None = None

    async def lead(self) -> bool:
        """Take or renew the lease; False while another relay holds it.

        A lease this relay wrote and that has more than `RENEW_BELOW` left is still its own
        (no other relay takes one before it runs out), so it is not written again; a clock
        that went back since it was written gets it written, and so checked, at once."""
        now = self.clock()
        if self._held is not None:
            taken, until = self._held
            if taken <= now and until - now > RENEW_BELOW:
                return True
        until = now + timedelta(seconds=LEASE_SECONDS)
        self._held = None
        try:
            await self.relays.update_one(
                {"_id": self.label, "$or": [{"until": {"$lt": now}}, {"holder": self.token}]},
                {"$set": {"holder": self.token, "until": until}},
                upsert=True,
            )
        except DuplicateKeyError:  # the lease document exists and another relay holds it
            return False
        self._held = (now, until)
        return True

    async def release(
        self, *, saving: Mapping[str, Any] | None = None, seconds: float = 2.0
    ) -> None:
        """Give up the lease within `seconds` (the database may be down too: then it runs out),
        writing `saving` on the lease document in the same write (a change-stream relay's
        position)."""
        self._held = None
        release = self.relays.update_one(
            {"_id": self.label, "holder": self.token},
            {"$set": {**(saving or {}), "until": EPOCH}},
        )
        await bounded(release, seconds=seconds, what="release the outbox lease")


class OutboxRelay:
    """Publishes pending outbox entries of one collection, woken on write or by a poll.

    The publisher is set once the broker is connected; until then the relay is not run.
    """

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        publisher: Publisher | None = None,
        *,
        batch: int = 200,
        poll_seconds: float = 0.5,
        linger_seconds: float = 0.0,
        clock: Clock = utcnow,
        slow_round_seconds: float = SLOW_ROUND_SECONDS,
        lease: RelayLease | None = None,
    ) -> None:
        self.collection = collection
        self.publisher = publisher
        self.batch = batch
        self.batch_size = batch  # the current one: smaller while the database is slow
        self.slow_round_seconds = slow_round_seconds
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self.clock = clock
        self._wake = asyncio.Event()
        self._label = collection.name
        self._lease = lease or RelayLease(collection, clock)
        self._window = ReadWindow()  # how far the next round reads the backlog

    def wake(self) -> None:
        """Tell the relay new events were stored."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled; back off while the broker or database is down.

        Only outages are retried here; any other error escapes to the supervisor.
        """
        failures = 0
        while True:
            raise_if_cancelling()  # one PyMongo dropped stops the relay here
            try:
                size = self.batch_size
                published = await self.publish_pending()
                failures = 0
            except TRANSIENT_ERRORS as exc:  # the events stay stored and go out later
                raise_if_cancelling()
                failures += 1
                self._resize(smaller=True)
                metrics.PUBLISH_FAILURES.labels(collection=self._label).inc()
                delay = min(0.25 * 2**failures, 10.0)
                log.warning(
                    "outbox relay could not publish; will retry",
                    extra={"collection": self._label, "error": describe(exc), "retry_in": delay},
                )
                await asyncio.sleep(delay)
                continue
            if published < size and self._window.caught_up:
                await self._idle()

    async def _idle(self) -> None:
        if await woken(self._wake, seconds=self.poll_seconds):
            # Woken by a write: let the writes arriving right behind it join the batch, since
            # each batch costs the same few database round trips however many events it holds.
            await asyncio.sleep(self.linger_seconds)
        self._wake.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of pending events and clear them; return how many (0 when another
        relay holds this collection)."""
        if self.publisher is None:
            raise RuntimeError("the outbox relay has no publisher yet")
        self._wake.clear()
        if not await self._lease.lead():
            self._window.reset()  # another relay works through the backlog meanwhile
            return 0
        started = asyncio.get_running_loop().time()
        size = self.batch_size
        try:
            docs = await self._window.take(
                self._read, field=OUTBOX_SINCE, size=size, latest=FAR_FUTURE, now=self.clock()
            )
            batch = sort_entries(docs)
            if batch.messages:
                await self.publisher.publish_many(batch.messages)
            if docs:
                await self._mark_sent(docs, batch)
        except BaseException:
            # Whatever failed, give the collection up at once so the retry (this relay's or
            # another replica's) need not wait for the lease to run out.
            await self._lease.release()
            raise
        self._observe(batch.occurred)
        took = asyncio.get_running_loop().time() - started
        if took > self.slow_round_seconds:
            self._resize(smaller=True)
        elif took < self.slow_round_seconds / 4 and len(docs) == size:
            self._resize(smaller=False)
        return len(batch.messages)

    async def _read(self, end: datetime, limit: int) -> list[dict[str, Any]]:
        """The oldest pending documents before `end`, at most `limit`."""
        pending = {OUTBOX_SINCE: {"$gte": EPOCH, "$lt": end}}
        cursor = self.collection.find(pending, {OUTBOX: 1, OUTBOX_SINCE: 1})
        return await cursor.sort(OUTBOX_SINCE, 1).limit(limit).to_list()

    def _resize(self, *, smaller: bool) -> None:
        """Halve the batch (a slow or failed round) or double it (a quick full one)."""
        size = max(MIN_BATCH, self.batch_size // 2) if smaller else self.batch_size * 2
        size = min(size, self.batch)
        if size != self.batch_size:
            log.info(
                "outbox relay batch resized",
                extra={"collection": self._label, "from": self.batch_size, "to": size},
            )
            self.batch_size = size

    async def track_backlog(self, every_seconds: float = 5.0) -> None:
        """Keep the outbox backlog gauge current: every few seconds, less often while counting
        a long backlog takes long (it keeps its value while the database is away)."""
        await keep_counting(self.backlog, every=every_seconds, what=f"{self._label} outbox backlog")

    async def _mark_sent(self, docs: list[dict[str, Any]], batch: Batch) -> None:
        """Clear the outboxes of the documents read that hold only published events, in one
        write; entries added since stay (their documents get the published ones pulled
        instead), and poison entries are moved aside.

        The write matches, among the documents read, those whose outbox holds no event but the
        ones published, and each document is matched and cleared atomically, so an event added
        while the batch was published keeps its document out of it. On the embedded server an
        `update_many` costs less per document than a conditional write for each: a fifth less
        CPU with routing's eleven indexes (`python -m bench.outbox_clear`). It matches each
        document against its whole `$in` list and each entry against the whole `$nin` list,
        so the batch is cleared in parts of `CLEAR_PART` documents, each with the event ids of
        its own documents: a third less CPU than one `update_many` of 200."""
        clean = [doc for doc in docs if doc["_id"] not in batch.poisoned]
        if clean:
            cleared = await self.collection.bulk_write(clearing_writes(clean), ordered=False)
            if cleared.modified_count == len(clean) and not batch.poisoned:
                return
        # Rare: events were added while this batch was published, or some were poison.
        await self._pull_published(docs, batch)

    async def _pull_published(self, docs: list[dict[str, Any]], batch: Batch) -> None:
        """Pull the published entries (events added since stay) and move poison entries aside,
        then clear emptied outboxes; one command."""
        doc_ids = [doc["_id"] for doc in docs]
        published = [m.event_id for m in batch.messages]
        # Poison first: a non-list outbox must be replaced before `$pull` can apply to it.
        writes: list[Any] = [
            self._quarantine(doc_id, bad) for doc_id, bad in batch.poisoned.items()
        ]
        pull = {"$pull": {OUTBOX: {"event_id": {"$in": published}}}}
        writes.append(UpdateMany({"_id": {"$in": doc_ids}}, pull))
        emptied = {"_id": {"$in": doc_ids}, f"{OUTBOX}.0": {"$exists": False}}
        writes.append(UpdateMany(emptied, CLEARED))
        await self.collection.bulk_write(writes, ordered=True)

    def _quarantine(self, doc_id: Any, bad: list[Poisoned]) -> UpdateOne:
        """Move entries that cannot be published to `outbox_quarantine`, with their error."""
        kept = quarantined(self._label, doc_id, bad, self.clock())
        if any(item.whole_outbox for item in bad):
            return UpdateOne(
                {"_id": doc_id},
                {"$push": {QUARANTINE: {"$each": kept}}, "$set": {OUTBOX: []}},
            )
        return UpdateOne(
            {"_id": doc_id},
            {
                "$push": {QUARANTINE: {"$each": kept}},
                "$pull": {OUTBOX: {"$in": [item.entry for item in bad]}},
            },
        )

    def _observe(self, occurred: list[datetime]) -> None:
        observe_published(self._label, occurred, self.clock())

    async def backlog(self) -> int:
        """How many documents still have events to publish (also exported as a gauge)."""
        count = await self.collection.count_documents(PENDING)
        metrics.OUTBOX_BACKLOG.labels(collection=self._label).set(count)
        return count


def quarantined(collection: str, doc_id: Any, bad: list[Poisoned], now: datetime) -> list[Any]:
    """The `outbox_quarantine` records of a document's entries that cannot be published, each
    with its error; logged and counted here, once."""
    for item in bad:
        log.error(
            "outbox entry cannot be published; quarantined",
            extra={"collection": collection, "document_id": str(doc_id), "error": item.error},
        )
    metrics.QUARANTINED.labels(collection=f"{collection}.outbox").inc(len(bad))
    return [{"entry": item.entry, "error": item.error, "at": now} for item in bad]


def observe_published(collection: str, occurred: list[datetime], now: datetime) -> None:
    """Count published events and how long after their writes they went out."""
    metrics.OUTBOX_PUBLISHED.labels(collection=collection).inc(len(occurred))
    for at in occurred:
        metrics.PUBLISH_LATENCY.labels(collection=collection).observe(
            max((now - at).total_seconds(), 0.0)
        )


def clearing_writes(docs: list[dict[str, Any]]) -> list[UpdateMany]:
    """Writes clearing the outboxes of these documents (as read, every entry published) that
    hold no event but the ones read from them, `CLEAR_PART` documents per write, each with its
    own documents' event ids."""
    writes = []
    for start in range(0, len(docs), CLEAR_PART):
        part = docs[start : start + CLEAR_PART]
        published = [entry["event_id"] for doc in part for entry in doc.get(OUTBOX, [])]
        unpublished = {"$elemMatch": {"event_id": {"$nin": published}}}
        only_published = {
            "_id": {"$in": [doc["_id"] for doc in part]},
            OUTBOX: {"$not": unpublished},
        }
        writes.append(UpdateMany(only_published, CLEARED))
    return writes


@dataclass(frozen=True)
class Poisoned:
    """An outbox entry that cannot be published, and why."""

    entry: Any
    error: str
    whole_outbox: bool = False


@dataclass
class Batch:
    """A leased batch sorted into messages to publish and poison entries to move aside."""

    messages: list[OutgoingMessage] = field(default_factory=list)
    occurred: list[datetime] = field(default_factory=list)
    poisoned: dict[Any, list[Poisoned]] = field(default_factory=dict)


def sort_entries(docs: list[dict[str, Any]]) -> Batch:
    """Each document's outbox entries as messages, or as poison when malformed."""
    batch = Batch()
    for doc in docs:
        entries = doc.get(OUTBOX, [])
        if not isinstance(entries, list):
            bad = Poisoned(entries, "the outbox is not a list", whole_outbox=True)
            batch.poisoned[doc["_id"]] = [bad]
            continue
        for entry in entries:
            try:
                message, occurred = _message(entry)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                batch.poisoned.setdefault(doc["_id"], []).append(Poisoned(entry, repr(exc)))
                continue
            batch.messages.append(message)
            batch.occurred.append(occurred)
    return batch


def _message(entry: Any) -> tuple[OutgoingMessage, datetime]:
    """The message an entry holds; raises on a malformed one."""
    fields = [entry["event_id"], entry["type"], entry["routing_key"], entry["body"]]
    if not all(isinstance(value, str) and value for value in fields):
        raise ValueError("event_id, type, routing_key and body must be non-empty strings")
    if len(entry["routing_key"].encode()) > MAX_ROUTING_KEY_BYTES:
        raise ValueError("routing key longer than AMQP allows")
    occurred = entry["occurred_at"]
    if not isinstance(occurred, datetime):
        raise TypeError("occurred_at is not a date")
    trace = tracing.stored_trace(entry.get(tracing.TRACE))
    message = OutgoingMessage(fields[0], fields[1], fields[2], fields[3].encode(), trace)
    return message, occurred
