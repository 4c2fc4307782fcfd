"""Publishing a collection's events from its change stream: nothing is rewritten once published.

Where the database keeps an oplog (a replica set, and the embedded server as `./scripts/run`
starts it), a write that stores events puts in its document only the events of that write
(`services.common.outbox`, `use_change_streams`), and this relay reads them from the
collection's change stream, in commit order, rather than finding pending documents and
clearing them after publishing: the clear was a second rewrite of every document, every index
entry of it included (README, "Performance").

- **One relay per collection** holds the lease in `outbox_relays` (`RelayLease`), as the
  clearing relay does; its document also keeps the relay's position in the stream (`position`,
  the resume token of the last published batch). With no position yet, the relay starts from
  the oldest write the oplog holds, so the writes made before it first ran are published too.
- **A batch** is the changes that arrive within `linger_seconds` of the first (up to `batch`);
  it is published with confirms. The stream's position is saved within `SAVE_SECONDS` of the
  previous save (sooner when a read finds nothing), not after each batch: at a few reports a
  second each batch holds one event, and a write per batch would double the relay's commands.
  A relay that is stopped saves its position and gives up its lease in one bounded write on its
  way out; one that cannot (killed, or the database away) publishes again what it published
  since the last save (consumers are idempotent; the message id is the event id).
- **While the broker is away** the relay goes on reading and keeps the events in
  `outbox_spill`, so the oplog's bounded history (SecantusDB keeps 100,000 entries or an hour)
  never has to outlast an outage; once the broker is back, the spilled events go out first and
  are deleted.
- **Outboxes left pending by the clearing relay's writes** (made while the database kept no
  oplog) are published and cleared first, found through that relay's index
  (`ensure_outbox_index`), which is then dropped: a collection without it holds none.
- **An entry that cannot be published** is kept on its document under `outbox_quarantine`,
  with its error, as the clearing relay does; the rest of the batch goes on.
- **History lost** (the position fell out of the oplog: the relay was stopped longer than the
  oplog's history while writes went on) is logged as an error and counted
  (`outbox_history_lost_total`); the relay starts again from the oldest write still held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bson import Timestamp
from pymongo import UpdateOne
from pymongo.asynchronous.change_stream import AsyncChangeStream
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, OperationFailure

from services.common import metrics
from services.common.amqp import TRANSIENT_BROKER_ERRORS, Publisher
from services.common.clock import Clock, utcnow
from services.common.errortext import describe
from services.common.gauges import keep_counting
from services.common.mongo import TRANSIENT_MONGO_ERRORS, MongoDatabase, drop_index_if_present
from services.common.outbox import (
    OUTBOX,
    PENDING_INDEX,
    QUARANTINE,
    Batch,
    OutboxRelay,
    RelayLease,
    may_hold_pending,
    observe_published,
    quarantined,
    sort_entries,
)
from services.common.runtime import raise_if_cancelling, woken

log = logging.getLogger(__name__)

SPILL = "outbox_spill"
POSITION = "position"
# A read of the stream returns at once with what it holds: the relay waits for writes itself
# (woken by its own process's, polling for other replicas'), not in a server-side wait.
NO_WAIT_MS = 1
# After a failed publish of spilled events, the next try waits this long.
SPILL_RETRY_SECONDS = 1.0
# While batches flow, the position is saved at most this often (not after every batch: a
# batch of one event would cost a write of its own); a relay killed in between publishes
# what it published since the last save again, and consumers are idempotent.
SAVE_SECONDS = 0.25
# A relay that is stopped saves its position and gives up its lease in one write, waiting at
# most this long: under half the runtime's bound for stopping loops (`STOP_LOOPS`, 1 s), after
# which it is cancelled again.
HAND_OVER_SECONDS = 0.4
# An idle relay saves its position this often: the stream's position moves on with the other
# collections' writes, and one saved long ago could fall out of the oplog's history.
IDLE_SAVE_SECONDS = 5.0
# The server's codes for a resume point no longer in the oplog, or a stream that cannot resume.
HISTORY_LOST = {280, 286}
# Writes that stored events: an insert whose document has an outbox, or an update that wrote
# one (in this mode each such write sets the whole array to its own events).
WRITES_WITH_EVENTS: list[Mapping[str, Any]] = [
    {
        "$match": {
            "$or": [
                {"operationType": "insert", f"fullDocument.{OUTBOX}": {"$exists": True}},
                {f"updateDescription.updatedFields.{OUTBOX}": {"$exists": True}},
                {"operationType": "replace", f"fullDocument.{OUTBOX}": {"$exists": True}},
            ]
        }
    }
]


async def keeps_oplog(db: MongoDatabase) -> bool:
    """Whether the server keeps an oplog (a replica set member), so change streams work."""
    hello = await db.client.admin.command("hello")
    return bool(hello.get("setName"))


class ChangeStreamRelay:
    """Publishes the events each write of one collection stored, read from its change stream.

    The publisher is set once the broker is connected; until then, and while it is away, the
    events read are kept in `outbox_spill`.
    """

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        publisher: Publisher | None = None,
        *,
        batch: int = 200,
        poll_seconds: float = 0.5,
        linger_seconds: float = 0.02,
        clock: Clock = utcnow,
    ) -> None:
        self.collection = collection
        self.publisher = publisher
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self.clock = clock
        self._label = collection.name
        self._lease = RelayLease(collection, clock)
        self._spill = collection.database[SPILL]
        self._spilled = True  # whether events may wait in the spill (checked once at first)
        self._spill_retry_at = 0.0  # by the event loop's clock: not before, after a failure
        self._saved_at = 0.0  # when the position was last saved, by the event loop's clock
        self._unsaved = False  # batches were published since the position was last saved
        # The stream's position after the last batch published (or spilled), once read.
        self._published: Mapping[str, Any] | None = None
        self._wake = asyncio.Event()
        self._read_to_end = False  # the last read found all the stream held
        # Outboxes left pending by writes made for the clearing relay (before the database
        # kept an oplog): published and cleared as that relay does, once connected.
        self._earlier = OutboxRelay(collection, clock=clock, batch=batch, lease=self._lease)
        self._earlier_done = False

    def wake(self) -> None:
        """Tell the relay new events were stored (it looks at once rather than at its poll)."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled; back off while the database is down. Any other error
        escapes to the supervisor."""
        failures = 0
        while True:
            raise_if_cancelling()  # one PyMongo dropped (a standby's lease check) stops it here
            try:
                await self._follow()
                failures = 0
            except OperationFailure as exc:
                if exc.code not in HISTORY_LOST:
                    raise
                await self._history_lost(exc)
            except (*TRANSIENT_MONGO_ERRORS, *TRANSIENT_BROKER_ERRORS) as exc:
                raise_if_cancelling()
                failures += 1
                metrics.PUBLISH_FAILURES.labels(collection=self._label).inc()
                delay = min(0.25 * 2**failures, 10.0)
                log.warning(
                    "outbox relay could not follow its change stream; will retry",
                    extra={"collection": self._label, "error": describe(exc), "retry_in": delay},
                )
                await self._lease.release()
                await asyncio.sleep(delay)

    async def _follow(self) -> None:
        """While this relay holds the lease: read batches of writes and publish their events."""
        if not await self._lease.lead():
            await asyncio.sleep(self.poll_seconds)
            return
        async with await self._open() as stream:
            self._read_to_end = False  # a stream just opened is read at once
            self._published = None
            try:
                await self._relay(stream)
            except asyncio.CancelledError:
                await self._hand_over()
                raise

    async def _relay(self, stream: AsyncChangeStream[dict[str, Any]]) -> None:
        """Read and publish batches until the lease is lost (or the relay is cancelled)."""
        loop = asyncio.get_running_loop()
        while True:
            raise_if_cancelling()  # one PyMongo dropped stops the relay here
            await self._publish_spilled()
            await self._publish_earlier()
            changes = await self._take(stream)
            if not await self._lease.lead():
                return  # another relay took over: it goes on from the saved position
            if changes:
                await self._deliver(changes)
                self._unsaved = True
            self._published = stream.resume_token  # all read so far is published (or spilled)
            every = SAVE_SECONDS if self._unsaved else IDLE_SAVE_SECONDS
            idle_unsaved = self._unsaved and not changes  # a pause after batches
            if loop.time() - self._saved_at < every and not idle_unsaved:
                continue
            if not await self._save(self._published):
                return

    async def _hand_over(self) -> None:
        """On stop: save the position of what was published, so a restart does not publish it
        again, and give up the lease, so another replica's relay goes on at once; one write,
        bounded by `HAND_OVER_SECONDS` (without it, the lease runs out)."""
        saving = {POSITION: self._published} if self._unsaved and self._published else None
        await self._lease.release(saving=saving, seconds=HAND_OVER_SECONDS)

    async def _open(self) -> AsyncChangeStream[dict[str, Any]]:
        """The stream from the saved position, or from the oldest write the oplog holds."""
        lease = await self._lease.relays.find_one({"_id": self._label}, {POSITION: 1})
        position = lease.get(POSITION) if lease else None
        if position is not None:
            return await self.collection.watch(
                WRITES_WITH_EVENTS, resume_after=position, max_await_time_ms=NO_WAIT_MS
            )
        return await self.collection.watch(
            WRITES_WITH_EVENTS,
            start_at_operation_time=await self._oldest_write(),
            max_await_time_ms=NO_WAIT_MS,
        )

    async def _oldest_write(self) -> Timestamp:
        """The time of the oldest entry in the oplog."""
        oplog = self.collection.database.client.local["oplog.rs"]
        first = await oplog.find_one({}, {"ts": 1}, sort=[("$natural", 1)])
        return first["ts"] if first else Timestamp(1, 0)

    async def _take(self, stream: AsyncChangeStream[dict[str, Any]]) -> list[dict[str, Any]]:
        """The next batch, up to `batch` changes. Once the stream was read to its end, it is
        read again when a write of this process wakes the relay (after `linger_seconds`, so
        the writes right behind it join) or after `poll_seconds` (other replicas' writes).

        Only a read that returns nothing is the stream's end: a shorter reply than asked for
        is not (SecantusDB reads 200 oplog entries of the collection per reply and filters
        them after, so a reply can hold a few changes with many more behind it)."""
        if self._read_to_end:
            wait = self.poll_seconds
            if self._unsaved:  # wake in time to save the position of what was published
                left = self._saved_at + SAVE_SECONDS - asyncio.get_running_loop().time()
                wait = min(wait, max(left, 0.0))
            if await woken(self._wake, seconds=wait):
                await asyncio.sleep(self.linger_seconds)
            elif self._unsaved:
                return []  # the position is saved first; the stream is read after
        self._read_to_end = False
        changes: list[dict[str, Any]] = []
        while len(changes) < self.batch:
            self._wake.clear()  # a write after this wakes the next wait; one before, this read
            change = await stream.try_next()
            if change is None:
                self._read_to_end = True
                break
            changes.append(change)
        return changes

    async def _deliver(self, changes: list[dict[str, Any]]) -> None:
        """Publish the events of `changes` (spill them while the broker is away) and keep
        entries that cannot be published aside."""
        written = [_written(change) for change in changes]
        batch = sort_entries(written)
        if batch.poisoned:
            await self._quarantine(batch)
        if not batch.messages:
            return
        try:
            if self.publisher is None:
                raise ConnectionError("not connected to the broker yet")
            await self.publisher.publish_many(batch.messages)
        except TRANSIENT_BROKER_ERRORS as exc:
            raise_if_cancelling()
            await self._keep(_publishable(written, batch), describe(exc))
            return
        self._observe(batch.occurred)

    async def _keep(self, entries: list[dict[str, Any]], error: str) -> None:
        """Keep these (publishable) entries in the spill until the broker is back."""
        now = self.clock()
        spilled = [
            {"_id": entry["event_id"], "collection": self._label, "entry": entry, "at": now}
            for entry in entries
        ]
        try:
            await self._spill.insert_many(spilled, ordered=False)
        except BulkWriteError as exc:  # spilled before (read again after a restart)
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
        self._spilled = True
        log.warning(
            "broker unavailable; events kept until it is back",
            extra={"collection": self._label, "events": len(spilled), "error": error},
        )

    async def _publish_spilled(self) -> None:
        """Publish what the spill holds for this collection, oldest first, then delete it."""
        loop = asyncio.get_running_loop()
        if not self._spilled or self.publisher is None or loop.time() < self._spill_retry_at:
            return
        query = {"collection": self._label}
        while True:
            docs = await self._spill.find(query).sort("at", 1).limit(self.batch).to_list()
            batch = sort_entries([{"_id": d["_id"], OUTBOX: [d.get("entry")]} for d in docs])
            if batch.messages:
                try:
                    await self.publisher.publish_many(batch.messages)
                except TRANSIENT_BROKER_ERRORS:
                    raise_if_cancelling()
                    self._spill_retry_at = loop.time() + SPILL_RETRY_SECONDS
                    return  # still away: the stream goes on being read meanwhile
                self._observe(batch.occurred)
            if docs:
                await self._spill.delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
            for event_id, bad in batch.poisoned.items():
                log.error(
                    "spilled outbox entry cannot be published; dropped",
                    extra={
                        "collection": self._label,
                        "event_id": str(event_id),
                        "error": "; ".join(item.error for item in bad),
                    },
                )
            if len(docs) < self.batch:
                self._spilled = False
                return

    async def _publish_earlier(self) -> None:
        """Publish and clear outboxes pending from before the change stream was used, then drop
        the index they were found through: no write made for this relay needs it, and each
        update would pay for it."""
        if self._earlier_done or self.publisher is None:
            return
        if await may_hold_pending(self.collection):
            self._earlier.publisher = self.publisher
            while await self._earlier.publish_pending() > 0:
                pass
            await drop_index_if_present(self.collection, PENDING_INDEX)
        self._earlier_done = True

    async def _quarantine(self, batch: Batch) -> None:
        """Keep each entry that cannot be published on its document, with its error."""
        now = self.clock()
        writes = [
            UpdateOne(
                {"_id": doc_id},
                {"$push": {QUARANTINE: {"$each": quarantined(self._label, doc_id, bad, now)}}},
            )
            for doc_id, bad in batch.poisoned.items()
        ]
        await self.collection.bulk_write(writes, ordered=False)

    async def _save(self, position: Mapping[str, Any] | None) -> bool:
        """Save the position after a published batch; False when the lease was lost."""
        saved = await self._lease.relays.update_one(
            {"_id": self._label, "holder": self._lease.token}, {"$set": {POSITION: position}}
        )
        self._saved_at = asyncio.get_running_loop().time()
        self._unsaved = False
        return saved.matched_count == 1

    async def _history_lost(self, exc: OperationFailure) -> None:
        """Start again from the oldest write the oplog still holds."""
        log.error(
            "outbox relay's position is no longer in the oplog; events written meanwhile may "
            "not have been published",
            extra={"collection": self._label, "error": describe(exc)},
        )
        metrics.OUTBOX_HISTORY_LOST.labels(collection=self._label).inc()
        await self._lease.relays.update_one({"_id": self._label}, {"$unset": {POSITION: ""}})

    def _observe(self, occurred: list[datetime]) -> None:
        observe_published(self._label, occurred, self.clock())

    async def track_backlog(self, every_seconds: float = 5.0) -> None:
        """Keep the outbox backlog gauge current: the events waiting in the spill."""
        await keep_counting(self.backlog, every=every_seconds, what=f"{self._label} outbox backlog")

    async def backlog(self) -> int:
        """How many events read from the stream wait for the broker (also a gauge)."""
        count = await self._spill.count_documents({"collection": self._label})
        metrics.OUTBOX_BACKLOG.labels(collection=self._label).set(count)
        return count


async def ensure_spill_index(db: MongoDatabase) -> None:
    """The index the relay reads a collection's spilled events through, oldest first."""
    await db[SPILL].create_index([("collection", 1), ("at", 1)], name="spilled")


def _written(change: Mapping[str, Any]) -> dict[str, Any]:
    """The document id and the events a change wrote, as the relay's batch takes them."""
    if change["operationType"] == "update":
        entries = change["updateDescription"]["updatedFields"].get(OUTBOX)
    else:
        entries = change["fullDocument"].get(OUTBOX)
    return {"_id": change["documentKey"]["_id"], OUTBOX: entries}


def _publishable(written: list[dict[str, Any]], batch: Batch) -> list[dict[str, Any]]:
    """The stored entries of `written` that `batch` holds as messages."""
    wanted = {message.event_id for message in batch.messages}
    return [
        entry
        for doc in written
        if isinstance(doc[OUTBOX], list)
        for entry in doc[OUTBOX]
        if isinstance(entry, dict) and entry.get("event_id") in wanted
    ]
